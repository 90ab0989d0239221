"""Text tokenizers from local files: Hugging Face `tokenizers` JSON or a SentencePiece model."""

from __future__ import annotations

from pathlib import Path


class TokenizerError(ValueError):
    pass


class TextTokenizer:
    """encode/decode plus the ids of the BOS, EOS and PAD tokens.

    Loads ``tokenizer.json`` (tokenizers) or ``tokenizer.model`` (sentencepiece, as Llama-2
    ships it). Nothing is downloaded.
    """

    def __init__(self, backend, kind: str, bos: int | None, eos: int | None, pad: int | None, vocab_size: int,
                 source: Path | None = None):
        self._backend, self.kind, self.source = backend, kind, source
        self.bos_id, self.eos_id, self.pad_id = bos, eos, pad
        self.vocab_size = vocab_size

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
            ids = {name: backend.token_to_id(name) for name in ("<s>", "</s>", "<pad>")}
            return cls(backend, "tokenizers", ids["<s>"], ids["</s>"], ids["<pad>"], backend.get_vocab_size(), path)
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

    def save(self, directory: str | Path) -> Path:
        """Write the tokenizer into ``directory`` (tokenizer.json or a copy of tokenizer.model)."""
        directory = Path(directory)
        if self.kind == "tokenizers":
            target = directory / "tokenizer.json"
            self._backend.save(str(target))
        else:
            import shutil

            target = directory / "tokenizer.model"
            shutil.copyfile(self.source, target)
        return target

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
