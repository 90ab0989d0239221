"""The training loss of the head: answer tokens, perception labels, valence/arousal, teacher logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from emotion_ros.model.network import EmotionNetwork
from emotion_ros.train.config import LossWeights
from emotion_ros.train.samples import IGNORE, Batch


def sparse_kl(student_logits: torch.Tensor, teacher_ids: torch.Tensor, teacher_logprobs: torch.Tensor,
              temperature: float) -> torch.Tensor:
    """Per position KL(teacher || student) over the teacher's top-k tokens, both renormalised
    to that support at ``temperature`` and scaled by T^2 (Hinton et al.), so gradients keep
    their size when T changes.

    student_logits (N, V); teacher_ids, teacher_logprobs (N, k) -> (N,).
    """
    teacher = torch.log_softmax(teacher_logprobs / temperature, dim=-1)
    student = torch.log_softmax(student_logits.float().gather(-1, teacher_ids) / temperature, dim=-1)
    return (teacher.exp() * (teacher - student)).sum(-1) * temperature**2


class HeadObjective(nn.Module):
    """forward(batch) -> dict of scalar losses ("loss" is the weighted total).

    Wraps the network so DistributedDataParallel sees one module whose forward is the whole
    training computation after the frozen encoders.
    """

    def __init__(self, network: EmotionNetwork, bos_ids: list[int], weights: LossWeights, temperature: float = 2.0):
        super().__init__()
        self.network, self.weights, self.temperature = network, weights, temperature
        self.register_buffer("bos_ids", torch.tensor(bos_ids, dtype=torch.long)[None], persistent=False)

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        network, f = self.network, batch.features
        out = network.fuse(f.video_tokens, f.cls, f.image_tokens, f.audio_tokens, f.video_present, f.audio_present,
                           batch.words)
        b = batch.text_ids.shape[0]
        embed = network.llm.embed
        head = embed(self.bos_ids).expand(b, -1, -1)
        embeds = torch.cat([head, out.prefix.to(head.dtype), embed(batch.text_ids)], dim=1)
        ones = torch.ones(b, head.shape[1], dtype=torch.bool, device=embeds.device)
        mask = torch.cat([ones, out.prefix_mask, batch.text_mask], dim=1)
        logits, _ = network.llm(embeds, mask)
        # Position p predicts token p + 1: the logits that predict the text are the ones just before it.
        start = embeds.shape[1] - batch.text_ids.shape[1]
        text_logits = logits[:, start - 1 : -1]
        answer = batch.text_targets != IGNORE
        losses = {"lm": F.cross_entropy(text_logits.flatten(0, 1).float(), batch.text_targets.flatten(),
                                        ignore_index=IGNORE)}
        labelled = batch.label != IGNORE
        zero = out.logits.sum() * 0.0  # keeps every head in the graph when a batch has no such target
        losses["label"] = F.cross_entropy(out.logits[labelled].float(), batch.label[labelled]) if labelled.any() else zero
        losses["valence_arousal"] = (F.mse_loss(out.valence_arousal[batch.va_mask].float(),
                                                batch.valence_arousal[batch.va_mask]) if batch.va_mask.any() else zero)
        if batch.teacher_ids is not None:
            kd_positions = batch.teacher_mask & answer
            kl = sparse_kl(text_logits[kd_positions], batch.teacher_ids[kd_positions],
                           batch.teacher_logprobs[kd_positions], self.temperature)
            losses["kd"] = kl.mean() if kl.numel() else zero
        w = self.weights
        losses["loss"] = (w.lm * losses["lm"] + w.label * losses["label"]
                          + w.valence_arousal * losses["valence_arousal"] + w.kd * losses.get("kd", zero))
        return losses
