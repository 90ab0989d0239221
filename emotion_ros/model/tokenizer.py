"""Text tokenizers from local files: Hugging Face `tokenizers` JSON or a SentencePiece model.

Beside tokenizer.json, a tokenizer_config.json in Hugging Face's layout may name the special
tokens (bos_token, eos_token, pad_token) and hold the chat template (chat_template, Jinja):
what a chat model's tokenizer needs and tokenizer.json cannot say.
"""

from __future__ import annotations

import json
from pathlib import Path

TOKENIZER_CONFIG = "tokenizer_config.json"
DEFAULT_SPECIALS = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"}


class TokenizerError(ValueError):
    pass


class TextTokenizer:
    """encode/decode plus the ids of the BOS, EOS and PAD tokens.

    Loads ``tokenizer.json`` (tokenizers) or ``tokenizer.model`` (sentencepiece, as Llama-2
    ships it). Nothing is downloaded.
    """

    def __init__(self, backend, kind: str, bos: int | None, eos: int | None, pad: int | None, vocab_size: int,
                 source: Path | None = None, chat_template: str | None = None):
        self._backend, self.kind, self.source = backend, kind, source
        self.bos_id, self.eos_id, self.pad_id = bos, eos, pad
        self.vocab_size = vocab_size
        self.chat_template = chat_template  # Jinja, as Hugging Face's; None for a model without a chat format

    @classmethod
    def from_file(cls, path: str | Path) -> "TextTokenizer":
        path = Path(path)
        if path.is_dir():
            for name in ("tokenizer.json", "tokenizer.model"):
                if (path / name).is_file():
                    return cls.from_file(path / name)
            raise TokenizerError(f"no tokenizer.json or tokenizer.model in {path}")
        if not path.is_file():
            raise TokenizerError(f"tokenizer file not found: {path}")
        if path.suffix == ".json":
            from tokenizers import Tokenizer

            try:
                backend = Tokenizer.from_file(str(path))
            except Exception as exc:  # tokenizers raises a bare Exception on a bad file
                raise TokenizerError(f"cannot read tokenizer {path}: {exc}") from exc
            config = _read_config(path.parent / TOKENIZER_CONFIG)
            ids = {key: backend.token_to_id(config[key]) if config[key] else None for key in DEFAULT_SPECIALS}
            return cls(backend, "tokenizers", ids["bos_token"], ids["eos_token"], ids["pad_token"], backend.get_vocab_size(),
                       path, config["chat_template"])
        if path.suffix == ".model":
            import sentencepiece

            try:
                backend = sentencepiece.SentencePieceProcessor(model_file=str(path))
            except (OSError, RuntimeError) as exc:
                raise TokenizerError(f"cannot read tokenizer {path}: {exc}") from exc
            ids = [backend.bos_id(), backend.eos_id(), backend.pad_id()]
            bos, eos, pad = (i if i >= 0 else None for i in ids)
            return cls(backend, "sentencepiece", bos, eos, pad, backend.get_piece_size(), path)
        raise TokenizerError(f"unknown tokenizer format {path.name} (expected tokenizer.json or tokenizer.model)")

    @classmethod
    def byte_level(cls) -> "TextTokenizer":
        """A tokenizer that needs no training: one token per byte, plus <unk> <s> </s> <pad>.

        For networks without a trained tokenizer: every text round-trips exactly.
        """
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers

        specials = ["<unk>", "<s>", "</s>", "<pad>"]
        alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
        vocab = {token: i for i, token in enumerate(specials + alphabet)}
        backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
        backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        backend.decoder = decoders.ByteLevel()
        backend.add_special_tokens(specials)
        return cls(backend, "tokenizers", vocab["<s>"], vocab["</s>"], vocab["<pad>"], len(vocab))

    def save(self, directory: str | Path) -> list[Path]:
        """Write the tokenizer into ``directory``: tokenizer.json (or a copy of tokenizer.model), and
        with it tokenizer_config.json when its special tokens or chat template need saying.
        Returns the files written."""
        directory = Path(directory)
        if self.kind == "tokenizers":
            target = directory / "tokenizer.json"
            self._backend.save(str(target))
        else:
            import shutil

            target = directory / "tokenizer.model"
            shutil.copyfile(self.source, target)
        written = [target]
        if self.kind == "tokenizers":
            token = lambda i: None if i is None else self._backend.id_to_token(i)  # noqa: E731
            config = {"bos_token": token(self.bos_id), "eos_token": token(self.eos_id), "pad_token": token(self.pad_id),
                      "chat_template": self.chat_template}
            if config != {**DEFAULT_SPECIALS, "chat_template": None}:
                written.append(directory / TOKENIZER_CONFIG)
                written[-1].write_text(json.dumps(config, indent=2) + "\n")
        return written

    def fingerprint(self) -> str:
        """A hash of the id -> token mapping and the special ids: two tokenizers with the same
        fingerprint give the same ids (what logit distillation between models relies on)."""
        import hashlib
        import json

        ids = range(self.vocab_size)
        pieces = [self._backend.id_to_token(i) for i in ids] if self.kind == "tokenizers" else [
            self._backend.id_to_piece(i) for i in ids]
        payload = json.dumps([pieces, self.bos_id, self.eos_id, self.pad_id])
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def encode(self, text: str, add_bos: bool = False) -> list[int]:
        if self.kind == "tokenizers":
            ids = self._backend.encode(text, add_special_tokens=False).ids
        else:
            ids = self._backend.encode(text)
        return ([self.bos_id] if add_bos and self.bos_id is not None else []) + list(ids)

    def decode(self, ids: list[int]) -> str:
        if self.kind == "tokenizers":
            return self._backend.decode(ids, skip_special_tokens=True)
        return self._backend.decode(ids)


def _read_config(path: Path) -> dict:
    """The special tokens and chat template of a tokenizer_config.json (Hugging Face's fields: a
    token is a string or {"content": ...}); the defaults where there is no file."""
    if not path.is_file():
        return {**DEFAULT_SPECIALS, "chat_template": None}
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise TokenizerError(f"cannot read {path}: {exc}") from exc
    if not isinstance(config, dict):
        raise TokenizerError(f"{path} is not a JSON object")
    content = lambda value: value.get("content") if isinstance(value, dict) else value  # noqa: E731
    read = {key: content(config.get(key)) for key in DEFAULT_SPECIALS}
    read["chat_template"] = config.get("chat_template")
    if not all(value is None or isinstance(value, str) for value in read.values()):
        raise TokenizerError(f"{path}: special tokens and chat_template must be strings")
    return read
