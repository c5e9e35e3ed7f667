"""The fast engine: batched greedy decoding with its own loop, per-row grammar masks and jump-forward.

    model, tok = load_model(base, adapter, dtype="bfloat16")      # decoding.hf.load_model
    outs = generate_fast(model, tok, prompts, grammars, max_new_tokens=128, batch_size=32)

Same contract as decoding.hf.generate_batch (same prompts, stop tokens, grammars, GenerationOutput), but:
- one forward pass per step for the whole batch, the KV cache kept across steps, and rows that finish
  are dropped from the batch (and their cache) instead of being padded until the longest row ends;
- the prompt prefix every row shares (system prompt, chat template) is prefilled once and copied;
- the cache is written in place (decoding.kv_cache) and attention reads grouped KV heads in place in fp32
  (decoding.attention): DynamicCache's per-step copy and sdpa's repeated heads were most of a step;
- each row's xgrammar matcher fills its row of one token bitmask, and only the tokens some row allows
  are scored by the vocabulary head (masked_argmax);
- jump-forward: whatever the grammar forces next (`{"intent":"`, `","entities":[`, the rest of a label
  once its prefix is unique, the closing `"}]}`) is appended without asking the model; the next step
  feeds those tokens together, so a row may advance several tokens in one forward pass. A row whose
  grammar is complete and allows only a stop token ends without another model call.

Rows advance by different numbers of tokens per step, so every step's new tokens are left-padded to
the widest row: the last column is always each row's newest token (one logits row per sequence), and
explicit position ids plus a 2-D attention mask with holes keep every row's view exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from decoding.attention import cpu_gqa
from decoding.engine import check_deadline
from decoding.hf import stop_token_ids
from decoding.output import GenerationOutput, finish_output

MIN_SHARED_PREFIX = 4  # shorter common prefixes are not worth an extra forward pass


@dataclass
class FastStats:
    """What the loop did: model calls vs tokens, for benchmarks and summaries."""
    forward_passes: int = 0
    model_tokens: int = 0    # tokens chosen by argmax over the model's logits
    forced_tokens: int = 0   # tokens appended by jump-forward, no model call
    early_stops: int = 0     # rows ended because the grammar allowed nothing but a stop token
    shared_prefix_tokens: int = 0  # prompt tokens not recomputed thanks to the shared prefix
    fed_tokens: int = 0      # real tokens fed to the model (prompts, chosen and forced tokens)
    fed_positions: int = 0   # positions computed, padding included (rows x step width)

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Row:
    index: int                 # position in the caller's prompt list
    pending: list[int]         # tokens to feed at the next forward pass
    matcher: Any = None        # xgrammar GrammarMatcher, None when unconstrained
    out: list[int] = field(default_factory=list)
    position: int = 0          # position id of the next token fed


def generate_fast(model: Any, tokenizer: Any, prompts: Sequence[list[dict[str, str]]], grammars: Any = None,
                  max_new_tokens: int = 128, batch_size: int = 32, jump_forward: bool = True,
                  desc: str = "generate", progress: bool = True, stats: FastStats | None = None,
                  share_prefix: bool = True, deadline: float | None = None) -> list[GenerationOutput]:
    """Greedy continuations of chat prompts, in the order given (see the module docstring).

    `deadline` (time.monotonic()): checked before every forward pass; once passed, the decode stops
    between two steps with decoding.engine.DeadlineExceeded and returns nothing, so a caller waiting on
    a stuck batch is answered within a step of it.
    """
    if isinstance(grammars, list) and len(grammars) != len(prompts):
        raise ValueError(f"got {len(grammars)} grammars for {len(prompts)} prompts; pass one per prompt")
    if not prompts:
        return []
    stats = stats if stats is not None else FastStats()
    texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    order = sorted(range(len(texts)), key=lambda i: -len(ids[i]))
    stops = stop_token_ids(model, tokenizer)
    outputs: list[GenerationOutput | None] = [None] * len(texts)
    with (torch.inference_mode(), cpu_gqa(model),
          tqdm(total=len(texts), desc=desc, unit="q", disable=not progress) as bar):
        for at in range(0, len(order), batch_size):
            rows = [_Row(i, list(ids[i]), _matcher(grammars, i)) for i in order[at:at + batch_size]]
            for row, out in _decode_batch(model, tokenizer, rows, stops, max_new_tokens, jump_forward, stats,
                                          share_prefix, deadline):
                outputs[row.index] = out
                bar.update(1)
    return [o for o in outputs if o is not None]


def _matcher(grammars: Any, i: int) -> Any:
    if grammars is None:
        return None
    import xgrammar as xgr

    return xgr.GrammarMatcher(grammars[i] if isinstance(grammars, list) else grammars)


def _decode_batch(model: Any, tokenizer: Any, rows: list[_Row], stops: list[int], max_new_tokens: int,
                  jump_forward: bool, stats: FastStats, share_prefix: bool = True,
                  deadline: float | None = None):
    """Yields (row, output) as rows finish; the batch shrinks as they do."""
    import xgrammar as xgr

    from decoding.kv_cache import GrowingCache

    constrained = rows[0].matcher is not None
    vocab = model.config.vocab_size
    bitmask = xgr.allocate_token_bitmask(len(rows), vocab) if constrained else None
    stop_only = _stop_only_mask(stops, vocab) if constrained else None
    classes = _classes_for(tokenizer, vocab) if constrained and jump_forward else None
    if jump_forward and constrained:
        for row in rows:  # `{"intent":"` goes into the prefill
            _force(row, tokenizer, stats, max_new_tokens, classes, bitmask)
    cache = GrowingCache()
    mask = torch.zeros((len(rows), 0), dtype=torch.long)
    device = model.device
    check_deadline(deadline, "before the prefill")
    if share_prefix:
        mask = _prefill_shared_prefix(model, rows, cache, stats)
    while rows:
        check_deadline(deadline, f"after {stats.forward_passes} forward passes")
        width = max(len(r.pending) for r in rows)
        inp = torch.full((len(rows), width), _pad_id(tokenizer, stops), dtype=torch.long)
        pos = torch.ones((len(rows), width), dtype=torch.long)
        new_mask = torch.zeros((len(rows), width), dtype=torch.long)
        for b, r in enumerate(rows):
            k = len(r.pending)
            inp[b, width - k:] = torch.tensor(r.pending)
            pos[b, width - k:] = torch.arange(r.position, r.position + k)
            new_mask[b, width - k:] = 1
            r.position += k
            r.pending = []
        mask = torch.cat([mask, new_mask], dim=1)
        stats.fed_tokens += int(new_mask.sum())
        stats.fed_positions += new_mask.numel()
        hidden = _last_hidden(model, inp.to(device), mask.to(device), pos.to(device), cache)
        stats.forward_passes += 1
        chosen = _choose(model, hidden, rows, bitmask, vocab)
        keep: list[int] = []
        for b, (r, tok) in enumerate(zip(rows, chosen, strict=True)):
            stats.model_tokens += 1
            done = _advance(r, tok, stops, tokenizer, stats, max_new_tokens, classes, bitmask, stop_only)
            if done is None:
                keep.append(b)
            else:
                yield r, done
        if len(keep) < len(rows):
            rows = [rows[b] for b in keep]
            if rows:
                idx = torch.tensor(keep, dtype=torch.long)
                cache.batch_select_indices(idx.to(device))
                mask = mask[idx]


def _last_hidden(model: Any, inp: torch.Tensor, mask: torch.Tensor, pos: torch.Tensor,
                 cache: Any) -> torch.Tensor:
    """Each row's last hidden state. The head is applied separately (_choose) because `model(...,
    logits_to_keep=1)` hands it a strided slice, which in bf16 on CPU sends the projection through a
    batched matmul that copies the whole vocabulary matrix per row (measured: ~0.6 s per step at batch
    16, most of the step)."""
    hidden = model.get_decoder()(input_ids=inp, attention_mask=mask, position_ids=pos, past_key_values=cache,
                                 use_cache=True).last_hidden_state
    return hidden[:, -1, :].contiguous()


def _choose(model: Any, hidden: torch.Tensor, rows: list[_Row], bitmask: Any, vocab: int) -> list[int]:
    """Greedy tokens for these rows (their last hidden states), under their grammars if they have any."""
    head = model.get_output_embeddings()
    if rows[0].matcher is None:
        return head(hidden).float().argmax(dim=-1).tolist()
    for j, r in enumerate(rows):
        r.matcher.fill_next_token_bitmask(bitmask, j)
    return masked_argmax(head, hidden, bitmask[:len(rows)], vocab)


def masked_argmax(head: torch.nn.Module, hidden: torch.Tensor, bitmask: torch.Tensor,
                  vocab: int) -> list[int]:
    """argmax of `head(hidden)` over each row's allowed tokens (an xgrammar bitmask row per hidden row),
    scoring only the tokens some row allows: under the grounded grammar ~140 of 49,152 on average (at
    most ~530) in a batch of 64, so the vocabulary projection, ~10% of a bf16-mixed step in fp32, nearly
    vanishes. The allowed tokens' logits are the same dot products as the full projection's."""
    words = bitmask.numpy().view(np.uint32)
    idx = _set_bits(np.bitwise_or.reduce(words, axis=0), vocab)  # the union, OR-ed while still packed
    allowed = torch.from_numpy(((words[:, idx >> 5] >> (idx & 31).astype(np.uint32)) & 1).astype(bool))
    ids = torch.from_numpy(idx).to(hidden.device)
    bias = head.bias[ids] if getattr(head, "bias", None) is not None else None
    logits = torch.nn.functional.linear(hidden, head.weight[ids], bias).float().cpu()
    logits.masked_fill_(~allowed, float("-inf"))
    return idx[logits.argmax(dim=-1).numpy()].tolist()


def _prefill_shared_prefix(model: Any, rows: list[_Row], cache: Any, stats: FastStats) -> torch.Tensor:
    """Run the tokens every row starts with (system prompt, chat template) once, then copy their cache
    to every row: prefill is most of a short extraction's compute. Returns the attention mask so far."""
    first = rows[0].pending
    n = min(len(r.pending) for r in rows) - 1  # every row keeps at least one token for its own logits
    p = 0
    while p < n and all(r.pending[p] == first[p] for r in rows):
        p += 1
    if len(rows) < 2 or p < MIN_SHARED_PREFIX:
        return torch.zeros((len(rows), 0), dtype=torch.long)
    model.get_decoder()(input_ids=torch.tensor([first[:p]], device=model.device),
                        position_ids=torch.arange(p, device=model.device)[None], past_key_values=cache,
                        use_cache=True)
    cache.batch_repeat_interleave(len(rows))
    stats.forward_passes += 1
    stats.shared_prefix_tokens += p * (len(rows) - 1)
    for r in rows:
        r.pending, r.position = r.pending[p:], p
    return torch.ones((len(rows), p), dtype=torch.long)


def _advance(r: _Row, tok: int, stops: list[int], tokenizer: Any, stats: FastStats, max_new_tokens: int,
             classes: Any, bitmask: Any, stop_only: Any) -> GenerationOutput | None:
    """Take the model's token, then whatever the grammar forces; an output when the row is done."""
    r.out.append(tok)
    if tok in stops or len(r.out) >= max_new_tokens:
        return finish_output(tokenizer, r.out[:max_new_tokens], stops)
    r.pending.append(tok)
    if r.matcher is None:
        return None
    if not r.matcher.accept_token(tok):
        raise RuntimeError(f"grammar rejected token {tok} it allowed; xgrammar matcher out of sync")
    if classes is not None:  # jump-forward on
        _force(r, tokenizer, stats, max_new_tokens, classes, bitmask)
        if len(r.out) >= max_new_tokens:
            return finish_output(tokenizer, r.out[:max_new_tokens], stops)
        if r.matcher.is_completed():
            # Nothing but a stop token may follow: the model would be forced to pick one.
            r.matcher.fill_next_token_bitmask(bitmask, 0)
            if torch.equal(bitmask[0], stop_only):
                stats.early_stops += 1
                return finish_output(tokenizer, r.out + [stops[0]], stops)
    return None


def _force(r: _Row, tokenizer: Any, stats: FastStats, max_new_tokens: int, classes: Any,
           bitmask: Any) -> None:
    """Append the grammar's forced continuation (jump-forward) to the row's output and next input.

    The forced text is tokenized on its own, so its last token could differ from what the model
    would write when the text after it may merge into the same pre-token (`":[` then `{"`: the
    tokenizer's canonical `":[{"` split is `":`, `[`, `{"`). When the next allowed characters could
    merge with the forced text's last one, that last token is left to the model.
    """
    try:
        text = r.matcher.find_jump_forward_string()
    except UnicodeDecodeError:
        return  # the forced bytes end or start inside a multi-byte character: leave them to the model
    if not text:
        return
    forced = tokenizer.encode(text, add_special_tokens=False)[: max_new_tokens - len(r.out)]
    n = 0
    for t in forced:
        if not r.matcher.accept_token(t):
            break  # a token that spills past the forced bytes: leave it to the model
        n += 1
    if n and n == len(forced) and not r.matcher.is_completed():
        r.matcher.fill_next_token_bitmask(bitmask, 0)
        if _may_merge(text[-1], classes[_allowed(bitmask[0], classes.shape[0])]):
            r.matcher.rollback(1)
            n -= 1
    r.out += forced[:n]
    r.pending += forced[:n]
    stats.forced_tokens += n


# First-character classes of tokens, for the pre-tokenizer's merge rule: letters run together,
# digits together, punctuation together, and a space joins the word or punctuation after it.
_OTHER, _LETTER, _DIGIT, _PUNCT, _SPACE = range(5)


def _char_class(ch: str) -> int:
    if ch.isalpha():
        return _LETTER
    if ch.isdigit():
        return _DIGIT
    if ch == " ":
        return _SPACE
    return _OTHER if ch.isspace() else _PUNCT


def _may_merge(last: str, next_classes: np.ndarray) -> bool:
    c = _char_class(last)
    following = {_LETTER, _PUNCT} if c == _SPACE else {c} if c in (_LETTER, _DIGIT, _PUNCT) else set()
    return bool(following & set(np.unique(next_classes).tolist()))


_CLASSES: dict[int, tuple[Any, np.ndarray]] = {}  # id(tokenizer) -> (tokenizer, classes)


def _classes_for(tokenizer: Any, vocab: int) -> np.ndarray:
    if id(tokenizer) not in _CLASSES:  # the tokenizer is kept so its id is not reused
        _CLASSES[id(tokenizer)] = (tokenizer, token_classes(tokenizer, vocab))
    return _CLASSES[id(tokenizer)][1]


def token_classes(tokenizer: Any, vocab: int) -> np.ndarray:
    """Class of each token's first character (special and unused ids: _OTHER)."""
    out = np.full(vocab, _OTHER, dtype=np.int8)
    special = set(tokenizer.all_special_ids)
    for i in range(min(vocab, len(tokenizer))):
        if i not in special:
            text = tokenizer.decode([i], clean_up_tokenization_spaces=False)
            out[i] = _char_class(text[0]) if text else _OTHER
    return out


def _allowed(mask_row: torch.Tensor, vocab: int) -> np.ndarray:
    return _set_bits(mask_row.numpy(), vocab)


def _set_bits(words: np.ndarray, vocab: int) -> np.ndarray:
    """Token ids whose bit is set in one packed xgrammar bitmask row (32-bit words, least bit first)."""
    return np.flatnonzero(np.unpackbits(words.view(np.uint8), bitorder="little")[:vocab])


def _stop_only_mask(stops: list[int], vocab: int) -> torch.Tensor:
    import xgrammar as xgr

    mask = xgr.allocate_token_bitmask(1, vocab)
    mask.zero_()
    for s in stops:
        bit = 1 << (s % 32)
        mask[0, s // 32] |= bit - (1 << 32) if bit >= 1 << 31 else bit  # int32 words: bit 31 is the sign
    return mask[0]


def _pad_id(tokenizer: Any, stops: list[int]) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]
