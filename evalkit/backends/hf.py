"""``backend=hf``: a local transformers checkpoint, answering requests in micro-batches.

Requests that arrive together are generated together (:mod:`evalkit.backends.batcher`): up to
``backend.batch_size``, never mixing generation settings, on one worker thread, left-padded,
each sample with its own images in order. Decoding is greedy unless the request samples, and
every knob is passed explicitly, so a checkpoint's ``generation_config.json`` (which often
samples, or sets a repetition penalty) changes nothing. On CUDA out-of-memory a batch is split
in halves and retried; a single request that still does not fit is that sample's error.

Stop strings cut the text after generation (the answer ends before the first one, and its
finish reason is ``stop``); the tokens generated past it are still counted as generated.
Usage is counted from the tensors, without padding: ``input_tokens`` are the prompt's
attended tokens (image tokens included), ``image_tokens`` the image placeholders the processor
expanded, ``output_tokens`` the generated ones up to and including the end token.
"""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self

from evalkit.backends.base import Backend, BackendIdentity, RetryDecision
from evalkit.backends.batcher import MicroBatcher
from evalkit.backends.hf_load import Loaded, load
from evalkit.config import HFConfig
from evalkit.errors import BackendError
from evalkit.records import Completion, ImagePart, Request, TextPart, Usage

__all__ = ["HFBackend", "conversation"]


class OutOfMemory(BackendError):
    """The request does not fit on the device even alone."""


def conversation(request: Request) -> tuple[list[dict[str, Any]], list[bytes]]:
    """The request as a chat-template conversation, and its images' bytes in order."""
    turns, images = [], []
    for message in request.messages:
        content: list[dict[str, Any]] = []
        for part in message.parts:
            if isinstance(part, TextPart):
                content.append({"type": "text", "text": part.text})
            elif isinstance(part, ImagePart):
                if not part.image.data:
                    raise BackendError(
                        f"backend=hf needs the image's bytes; {part.image.url or 'an image'} "
                        "is a URL (evalkit does not fetch images)"
                    )
                content.append({"type": "image"})
                images.append(part.image.data)
        turns.append({"role": message.role, "content": content})
    return turns, images


class HFBackend(Backend):
    """Generate with a local checkpoint; free, cached like an API answer."""

    priced = False
    adaptive = False

    def __init__(self, config: HFConfig, loaded: Loaded) -> None:
        self.config = config
        self.loaded = loaded
        self.identity = BackendIdentity(name="hf", model=config.model, revision=config.revision)
        self.max_concurrency = None
        self.min_concurrency = 2 * config.batch_size  # one batch running, the next one waiting
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evalkit-hf")
        self.batcher: MicroBatcher[Request, Completion] = MicroBatcher(
            self._run_batch, batch_size=config.batch_size,
            wait_s=config.batch_wait_ms / 1000, executor=self._executor,
        )  # fmt: skip

    @classmethod
    def from_config(cls, config: HFConfig) -> Self:
        """Load the checkpoint (one line on any failure a user can fix)."""
        return cls(config, load(config))

    def attempt_timeout(self, configured: float) -> float | None:
        """None: a batch cannot be interrupted, and a long document may take minutes."""
        return None

    def cache_options(self) -> dict[str, Any]:
        """The weights' fingerprint and what changes the numbers: dtype, pixels, attention."""
        return {"weights": self.loaded.fingerprint, "dtype": self.loaded.dtype,
                "min_pixels": self.config.min_pixels, "max_pixels": self.config.max_pixels,
                "attn": self.config.attn_implementation}  # fmt: skip

    def classify(self, error: Exception) -> RetryDecision:
        """Local failures do not get better by retrying."""
        return RetryDecision.fail

    async def generate(self, request: Request) -> Completion:
        """Join the next batch of requests with the same generation settings."""
        turns, images = conversation(request)
        size = sum(len(p.get("text", "")) for t in turns for p in t["content"]) + 256 * len(images)
        return await self.batcher.submit(request, key=request.params, size=size)

    # ---------------------------------------------------------------- the worker thread
    def _run_batch(self, requests: list[Request]) -> list[Completion | BaseException]:
        torch = _torch_module()
        try:
            return self._generate(requests)
        except torch.OutOfMemoryError:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            if len(requests) == 1:
                why = f"{self.loaded.device} is out of memory for this request alone"
                return [OutOfMemory(f"{why}; lower backend.max_pixels or max_tokens")]
            half = len(requests) // 2
            return [*self._run_batch(requests[:half]), *self._run_batch(requests[half:])]
        except BackendError as exc:
            return [exc] * len(requests)

    def _generate(self, requests: list[Request]) -> list[Completion | BaseException]:
        from PIL import Image

        torch = _torch_module()
        processor, model = self.loaded.processor, self.loaded.model
        texts, images = [], []
        for request in requests:
            turns, data = conversation(request)
            texts.append(
                processor.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
            )
            images += [Image.open(io.BytesIO(b)).convert("RGB") for b in data]
        inputs = processor(
            text=texts, images=images or None, padding=True, padding_side="left",
            return_tensors="pt",
        ).to(self.loaded.device)  # fmt: skip
        params = requests[0].params  # one batch, one set of generation settings
        started = time.perf_counter()
        with torch.inference_mode():
            if params.seed is not None:
                torch.manual_seed(params.seed)
            output = model.generate(**inputs, **self._decoding(params))
        wall = time.perf_counter() - started
        width = inputs["input_ids"].shape[1]
        new = output[:, width:].tolist()
        mask = inputs["attention_mask"].sum(dim=1).tolist()
        image_id = self.loaded.image_token_id
        image_counts = ((inputs["input_ids"] == image_id).sum(dim=1).tolist()
                        if image_id is not None else [None] * len(requests))  # fmt: skip
        limit = self._max_tokens(params)
        return [
            self._completion(ids, int(prompt), images_in, params.stop, limit, wall, len(requests))
            for ids, prompt, images_in in zip(new, mask, image_counts, strict=True)
        ]

    def _max_tokens(self, params: Any) -> int:
        return int(params.max_tokens or 512)

    def _decoding(self, params: Any) -> dict[str, Any]:
        """Every generation knob, explicit: the checkpoint's generation_config decides nothing."""
        from transformers import GenerationConfig

        sample = params.temperature is not None and params.temperature > 0
        config = GenerationConfig(
            max_new_tokens=self._max_tokens(params),
            min_new_tokens=params.min_tokens,
            do_sample=sample,
            num_beams=1,
            temperature=params.temperature if sample else 1.0,
            top_p=params.top_p if sample and params.top_p is not None else 1.0,
            top_k=params.top_k if sample and params.top_k and params.top_k > 0 else None,
            repetition_penalty=params.repetition_penalty or 1.0,
            eos_token_id=list(self.loaded.eos_ids),
            pad_token_id=self.loaded.pad_id,
        )
        return {"generation_config": config}

    def _completion(self, ids: list[int], prompt: int, images: int | None, stops: tuple[str, ...],
                    limit: int, wall: float, batch: int) -> Completion:  # fmt: skip
        """One row's answer: cut at the end token (counted) or the padding after a stop."""
        eos, pad = set(self.loaded.eos_ids), self.loaded.pad_id
        end = next((i + 1 for i, t in enumerate(ids) if t in eos), None)
        if end is None:  # no end token: the row ran to the limit, or stopped on a string
            end = len(ids)
            while end > 0 and ids[end - 1] == pad:
                end -= 1
        kept = ids[:end]
        text = self.loaded.processor.tokenizer.decode(kept, skip_special_tokens=True)
        cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
        if cut >= 0:
            text = text[:cut]
        ended = (end > 0 and kept[-1] in eos) or cut >= 0
        finish = "stop" if ended or len(kept) < limit else "length"
        usage = Usage(input_tokens=prompt, output_tokens=len(kept), image_tokens=images)
        return Completion(text=text, usage=usage, finish_reason=finish, latency_s=wall,
                          batch_size=batch)  # fmt: skip

    async def aclose(self) -> None:
        """Let the worker thread go (the model stays until the process ends)."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _torch_module() -> Any:
    import torch

    return torch
