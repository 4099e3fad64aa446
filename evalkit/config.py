"""Structured-config schemas: every Hydra node is validated against one of these.

Only schemas live here. :func:`evalkit.compose.register_schemas` stores them in Hydra's
ConfigStore; :func:`evalkit.structured.to_object` converts the composed config once to
:class:`RunConfig` and no ``DictConfig`` goes further.
Secrets never appear: a backend names the *environment variable* holding its key.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from enum import StrEnum
from typing import Any

from evalkit.errors import ConfigError

__all__ = [
    "ApiConfig",
    "check_ranges",
    "check_source_options",
    "metric_specs",
    "BackendConfig",
    "BaselineConfig",
    "BaselineSpec",
    "CacheConfig",
    "CacheMode",
    "Columns",
    "DashScopeConfig",
    "DatasetConfig",
    "FewShotSpec",
    "HFConfig",
    "HFJudgeConfig",
    "JUDGE_SCHEMAS",
    "JudgeMode",
    "JudgeSettings",
    "JudgeSpec",
    "NoJudgeConfig",
    "OpenAIJudgeConfig",
    "DashScopeJudgeConfig",
    "StandInJudgeConfig",
    "ImageJoin",
    "LimitsConfig",
    "MetricSpec",
    "OpenAIConfig",
    "Price",
    "PricingConfig",
    "PromptSpec",
    "ReplayConfig",
    "ReportConfig",
    "RunConfig",
    "RunnerConfig",
    "ShardConfig",
    "Source",
    "Subset",
    "TaskDataset",
    "TaskSpec",
]


MISSING = "???"
"""A mandatory value not given yet (OmegaConf's marker)."""


# --------------------------------------------------------------------------- numeric ranges
def ranged(default: Any, low: float | None = None, high: float | None = None, *,
           above: bool = False) -> Any:  # fmt: skip
    """A field whose numbers must lie in ``[low, high]`` (``(low, high]`` when ``above``).

    :func:`check_ranges` checks every such field of a composed config, with one line per error.
    """
    return field(default=default, metadata={"low": low, "high": high, "above": above})


def _range_error(path: str, value: float, low: float | None, high: float | None,
                 above: bool) -> str | None:  # fmt: skip
    too_low = low is not None and (value <= low if above else value < low)
    if not too_low and (high is None or value <= high):
        return None
    if high is None:
        return f"{path} must be {'>' if above else '>='} {low:g}, got {value:g}"
    if low is None:
        return f"{path} must be <= {high:g}, got {value:g}"
    return f"{path} must be in {'(' if above else '['}{low:g}, {high:g}], got {value:g}"


def check_ranges(config: Any, path: str = "") -> None:
    """Raise a one-line :class:`ConfigError` for the first number outside its field's range.

    >>> check_ranges(LimitsConfig(concurrency=0), "limits")
    Traceback (most recent call last):
    ...
    evalkit.errors.ConfigError: limits.concurrency must be >= 1, got 0
    """
    for f in fields(config):
        value = getattr(config, f.name)
        where = f"{path}.{f.name}" if path else f.name
        meta = f.metadata
        if "low" in meta and isinstance(value, int | float) and not isinstance(value, bool):
            error = _range_error(where, value, meta["low"], meta["high"], meta["above"])
            if error is not None:
                raise ConfigError(error)
        if is_dataclass(value) and not isinstance(value, type):
            check_ranges(value, where)
        elif isinstance(value, dict):
            for key, item in value.items():
                if is_dataclass(item) and not isinstance(item, type):
                    check_ranges(item, f"{where}.{key}")
    low, high = getattr(config, "min_pixels", None), getattr(config, "max_pixels", None)
    if low is not None and high is not None and low > high:
        raise ConfigError(f"{path}.min_pixels ({low}) must not exceed {path}.max_pixels ({high})")


# --------------------------------------------------------------------------- task definitions
@dataclass
class ImageJoin:
    """Rows name their image by id; the images live in another configuration of the dataset.

    GQA's Hub copy keeps questions (``testdev_balanced_instructions``) and images
    (``testdev_balanced_images``) apart; each question's ``imageId`` is an image row's ``id``.
    """

    config: str = MISSING
    """The configuration holding the images."""
    key: str = MISSING
    """The rows' column naming their image."""
    id: str = "id"
    """The image configuration's id column."""
    split: str | None = None
    """Its split; ``None``: the same split as the rows."""
    features: dict[str, Any] = field(default_factory=dict)
    """The image configuration's Hub schema, as ``dataset.features`` declares the rows'."""


@dataclass
class Subset:
    """A standard subset of a split: the rows whose ``column`` value an id list names.

    The list is a shipped file (``file``: one id per line, ``#`` comments) or a column of
    another dataset's split (``hf_id``: Karpathy's test split from a copy that keeps its split
    column). A file, when given, wins, so ``task.dataset.subset.file=LIST`` works offline.
    """

    column: str = MISSING
    """The column of the scored rows whose values the list holds."""
    file: str | None = None
    """The list, relative to the task file's folder."""
    hf_id: str | None = None
    """A dataset (Hub id, or a local folder or file of parquet / JSON lines) listing the ids."""
    hf_config: str | None = None
    """Its configuration; ``None`` for the default."""
    split: str = "test"
    """Its split holding the ids."""
    id_column: str | None = None
    """Its column holding the ids; ``None``: the same name as ``column``."""
    revision: str | None = None
    """A pinned commit of it; ``None`` follows the default branch."""
    rows: int | None = None
    """How many ids it lists (1,000 for Flickr30k's Karpathy test); a different count warns."""
    splits: list[str] = field(default_factory=list)
    """The scored splits it applies to (empty: every split)."""


@dataclass
class TaskDataset:
    """Where a task's data lives on the Hugging Face Hub, and which bundled sample stands in."""

    hf_id: str = MISSING
    """Dataset id (or a local folder of parquet files in the same schema)."""
    hf_config: str | None = None
    """Dataset configuration name (``DocVQA``, ``InfographicVQA``); ``None`` for the default."""
    split: str = "validation"
    """The split scored by default."""
    splits: list[str] = field(default_factory=list)
    """Every split the task can score (documentation and validation of ``dataset.split``)."""
    revision: str | None = None
    """A pinned commit or tag; ``None`` follows the default branch."""
    rows: dict[str, int] = field(default_factory=dict)
    """Split → its row count in the Hub copy this task was written against. A run over a whole
    Hub split records the count it saw and warns when it differs (copies move and change)."""
    images: ImageJoin | None = None
    """Images kept in another configuration and joined by id (GQA); ``None``: in the rows."""
    subset: Subset | None = None
    """Keep only the rows an id list names (the Karpathy test split of Flickr30k)."""
    where: dict[str, list[str]] = field(default_factory=dict)
    """Keep only the rows whose columns hold one of these values, compared as text (SEED-Bench's
    image part: ``{data_type: [image]}``); the other rows are not samples and take no id, no
    place and no part of ``dataset.limit``. A row without such a column is a data error."""
    release: str | None = None
    """The benchmark's own release layout that ``dataset=local`` also reads
    (:mod:`evalkit.dataset.releases`: ``chartqa-json``, ``mathvista-json``, ``mmbench-tsv``);
    ``None``: only files in the Hub schema."""
    features: dict[str, Any] = field(default_factory=dict)
    """The Hub copy's columns in short form (``string``, ``int64``, ``image``, ``[T]`` a list,
    ``{field: T}`` a struct; :mod:`evalkit.dataset.features`): what the bundled sample is
    generated in and the task's column names are checked against when the file is loaded.
    Empty: not declared, nothing checked."""


@dataclass
class Columns:
    """Which dataset column feeds which sample field."""

    id: str | None = MISSING
    """Unique id column; ``null`` when the copy has none (ChartQA, AI2D): a row's position in
    its split is then its id (stable for a pinned revision)."""
    image: str = "image"
    """Image column (``datasets.Image`` struct, bytes, or a path), or a list of them."""
    images: list[str] = field(default_factory=list)
    """Several image columns, in order (MMMU's ``image_1`` … ``image_7``), in place of
    ``image``: a sample's pictures are the ones its row fills."""
    question: str | None = "question"
    """Question or prompt column; ``None`` when the task has none (captioning)."""
    answers: str = "answers"
    """Gold answers, reference captions, or referring expressions (list or string)."""
    answer_key: str | None = None
    """When answers are dicts (VQAv2 ``answers[*].answer``), the key holding the text."""
    bbox: str | None = None
    """Gold box column, COCO ``[x, y, w, h]`` pixels (grounding)."""
    choices: str | None = None
    """Multiple choice: the column listing the options. ``answers`` then holds the right one:
    its 0-based index (a number or a digit string) or its letter; the gold answer is its
    letter."""
    choice_columns: list[str] = field(default_factory=list)
    """Multiple choice with one column per option (MMBench's ``A`` … ``D``): empty cells (none,
    NaN, ``nan``, blank) are left out, as lmms-eval leaves them out."""
    choices_literal: bool = False
    """The options column holds a Python list written as text (MMMU's ``"['$6', '$7']"``)."""
    answer_is_option: bool = False
    """Multiple choice whose ``answers`` column holds the right option's text, not its index or
    letter (MathVista's, whose options are often numbers); the gold answer is still its letter."""
    open_without_choices: bool = False
    """A row whose options are empty is an open question, scored against ``answers`` as written
    (MathVista's free-form rows); otherwise such a row is a data error."""
    context: str | None = None
    """A column of text shown with the question when not empty (ScienceQA's ``hint``)."""
    keep: list[str] = field(default_factory=list)
    """Columns kept with each sample (e.g. ``answer_type``): in its metadata and as columns of
    ``samples.parquet`` (text, or lists of text). ``a.b`` reads field ``b`` of a struct column
    ``a`` (GQA's ``types.structural``) and keeps it under that dotted name."""
    split_keep: dict[str, str] = field(default_factory=dict)
    """Kept text columns that hold several values, and their separator (MM-Vet's
    ``capability: ","`` for ``rec,ocr``): kept as the list of values, so each value is a group.
    Such a column must be a list column (:data:`evalkit.runfolder.schema.LIST_COLUMNS`)."""


@dataclass
class PromptSpec:
    """A prompt template for one model family; ``{question}`` is filled from the sample."""

    user: str = "{question}"
    """User text; the images come first in the turn, as the Qwen-VL family expects. Besides
    ``{question}``: ``{choices}`` (the options, see ``choices``), ``{context}`` and ``{box}``
    (the gold box, written in ``box_format``)."""
    open: str | None = None
    """The user text for a sample without options in a task that has them (MMMU's open
    questions); ``None``: ``user``."""
    system: str | None = None
    """Optional system turn."""
    max_tokens: int | None = ranged(None, 1)
    """Overrides the task's ``max_tokens`` for this family (Qwen-VL base uses 10 or 100)."""
    min_tokens: int | None = ranged(None, 1)
    """Fewest new tokens before the model may stop (eval_mm's ``min_new_tokens``); sent where
    the backend has the parameter (local models, vLLM/SGLang's ``min_tokens``)."""
    box_format: str | None = None
    """Grounding: the box convention this prompt asks for (see :func:`evalkit.score.parse_box`);
    a prompt with ``{box}`` writes the gold box in it (region description)."""
    capitalize: bool = False
    """Fill ``{question}`` as Python's ``str.capitalize`` makes it (first letter upper, the
    rest lower), as lmms-eval's TextVQA and VizWiz prompts do."""
    draw_box: bool = False
    """Draw the gold box on the image (a red frame) for models with no box syntax."""
    choices: str = "letters"
    """How ``{choices}`` shows the options: ``letters`` (``A. first`` lines, as lmms-eval's
    multiple-choice prompts) or ``lines`` (the option texts alone, one per line)."""
    context: str = "{context}"
    """What ``{context}`` becomes when the sample has context (``Context: {context}\n``)."""
    no_context: str = ""
    """What ``{context}`` becomes when it has none (``N/A`` in Qwen-VL's ScienceQA prompt)."""
    parser: str | None = None
    """The answer parser this family's protocol reads replies with, over the task's ``parser``
    (VLMEvalKit's letter extraction for Qwen2-VL's multiple-choice prompt); ``None``: the
    task's."""
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Metric column → parameters this family's protocol scores with, over the task's (Qwen's
    ChartQA script takes the 5 % relative to the prediction: ``{relaxed_accuracy: {mode:
    qwen-vl}}``). Recorded in ``run.json`` with every other metric parameter."""


@dataclass
class FewShotSpec:
    """In-context examples: solved samples shown as earlier turns before the question."""

    k: int = ranged(0, 0)
    """How many (0: none, the default)."""
    split: str | None = None
    """The split they come from (a train split); ``None``: the evaluated split itself, the
    sample and samples of its image left out."""
    seed: int = 0
    """Chooses them, per sample (the same seed and sample: the same examples)."""
    pool: int | None = ranged(1000, 1)
    """Candidates read from the split's start, held in memory with their images (``null``:
    the whole split)."""


@dataclass
class BaselineSpec:
    """What the ``baseline`` backend answers for this task (a documented sanity floor)."""

    answer: str = "yes"
    """Prior answer (VQA's 'prior' baseline is the most common answer) or a fixed caption.
    A prompt that asks for a box gets the whole image instead, in that prompt's box format."""


@dataclass
class MetricSpec:
    """One metric of a task: a registered name, its parameters, and its column.

    In a task file, ``metrics: [anls]`` and ``metrics: [{name: anls, threshold: 0.5}]`` both
    work; every key but ``name`` and ``column`` is a parameter of the metric.
    """

    name: str = MISSING
    """Registered metric name (:data:`evalkit.score.registry.METRICS`)."""
    column: str | None = None
    """Column and summary name; default the metric's name."""
    params: dict[str, Any] = field(default_factory=dict)
    """Parameters, checked against the metric's own (unknown or ill-typed ones are errors)."""

    @property
    def key(self) -> str:
        """Its column and summary name: ``column``, else the metric's name."""
        return self.column or self.name


class JudgeMode(StrEnum):
    """When a judge model is asked about an answer."""

    off = "off"
    """Never: the rules alone score (an answer they cannot read is wrong)."""
    fallback = "fallback"
    """Only when the rules find nothing (VLMEvalKit's MMBench protocol)."""
    always = "always"
    """For every answer (a grader: MM-Vet, LLaVA-Bench; or judge extraction throughout)."""


@dataclass
class JudgeSpec:
    """A task's judge: the protocol that grades or reads its answers, and when by default."""

    protocol: str = MISSING
    """A registered judge protocol (:data:`evalkit.judge.protocols.PROTOCOLS`): its prompt and
    how its verdict is read, after the benchmark's own script."""
    mode: JudgeMode = JudgeMode.always
    """The task's default ``judge.mode``."""


@dataclass
class TaskSpec:
    """One task definition (``tasks/<kind>/<name>.yaml``)."""

    name: str = MISSING
    """Task name used on the command line (must equal the file name)."""
    kind: str = MISSING
    """What kind of task it is, and the folder it lives in (captioning, vqa, docvqa, grounding,
    ...): for listings only, nothing branches on it. ("Family" means a model family.)"""
    description: str = ""
    dataset: TaskDataset = field(default_factory=TaskDataset)
    columns: Columns = field(default_factory=Columns)
    prompts: dict[str, PromptSpec] = field(default_factory=dict)
    """Templates by prompt family; ``default`` is required."""
    max_tokens: int = ranged(32, 1)
    """Default generation budget."""
    parser: str = "answer"
    """How a completion becomes a prediction: ``answer``, ``caption`` or ``box``
    (:data:`evalkit.parse.PARSERS`)."""
    metrics: list[MetricSpec] = field(default_factory=list)
    """Metrics reported for this task, with their parameters (:mod:`evalkit.score.registry`)."""
    primary: str | None = None
    """The one figure a leaderboard shows for this task: a metric's column (CIDEr for the
    captioning tasks) or an overall row its ``summary`` adds (MME's perception total); ``None``:
    the first metric's column (:meth:`primary_metric`)."""
    group_by: list[str] = field(default_factory=list)
    """Kept columns whose values get their own summary rows (``answer_type`` ...), as the
    official VQA script reports ``perAnswerType``; a list value counts in each of its groups."""
    explode_references: bool = False
    """Grounding: one sample per referring expression (the standard per-expression count)."""
    circular: bool = False
    """Multiple choice: MMBench's circular evaluation. A question with N options is asked N
    times, its options rotated one place each time (samples ``<id>#c<k>``); the summary adds
    ``<metric>_circular``, a question counting as right only when every pass is right."""
    circular_passes: int | None = ranged(None, 2)
    """The data already holds each question's circular passes as rows, as MMBench's release
    does: the row with id ``i + k * N`` is pass ``k`` of question ``i`` (``N`` = 1000000), its
    options rotated. Each row is one sample, asked as given; the summary adds
    ``<metric>_circular`` over the questions whose first pass (id below ``N``) was read, a
    question right only when every pass read is right (VLMEvalKit's ``mcq_circular_eval``).
    ``circular`` is evalkit's own rotation, for data without the passes."""
    fewshot: FewShotSpec = field(default_factory=FewShotSpec)
    """``task.fewshot.k=4``: four solved examples before each question (Qwen-VL's few-shot
    VQA); each row records their ids (``fewshot_ids``)."""
    explode_questions: bool = False
    """Rows holding parallel lists of questions and answers (OCR-VQA: one row per book cover)
    become one sample per question, ``<id>#<k>``, each with its own answer."""
    baseline: BaselineSpec = field(default_factory=BaselineSpec)
    summary: str | None = None
    """Extra summary rows its benchmark's script reports beyond means (``mme``: acc+, scores,
    the perception and cognition totals; :mod:`evalkit.score.summaries`)."""
    judge: JudgeSpec | None = None
    """The task's judge protocol (MM-Vet's grader, MathVista's extraction), when it has one;
    the run's ``judge`` group says which model judges (:mod:`evalkit.judge`)."""

    def primary_metric(self) -> str:
        """The leaderboard's metric: ``primary``, else the first metric's column."""
        if self.primary is not None:
            return self.primary
        return self.metrics[0].key

    def parser_for(self, prompt: PromptSpec | None) -> str:
        """The parser a run with ``prompt`` reads answers with: the prompt's, else the task's."""
        return (prompt.parser if prompt is not None else None) or self.parser


# --------------------------------------------------------------------------- run-level groups
class Source(StrEnum):
    """Where samples come from."""

    sample = "sample"
    hf = "hf"
    local = "local"


@dataclass
class DatasetConfig:
    """``dataset`` group: which data to stream. ``None`` fields fall back to the task's."""

    source: Source = Source.sample
    """``sample`` (bundled, offline), ``hf`` (Hugging Face, streaming) or ``local`` files."""
    path: str | None = None
    """``local``: a parquet/jsonl file or a folder of them, in the task's HF schema, or the
    benchmark's own release files where the task reads them (``dataset.release`` of the task)."""
    id: str | None = None
    """``hf``: dataset id or local folder; default the task's ``dataset.hf_id``."""
    config: str | None = None
    """``hf``: configuration name; default the task's."""
    split: str | None = None
    """Split; default the task's."""
    splits: list[str] = field(default_factory=list)
    """Several splits in one run (``[val,testA,testB]``): samples ``<split>/<id>``, a ``split``
    column, and the summary's rows per split (RefCOCO's breakdown); ``dataset.limit`` applies
    to each. Empty: ``split`` alone."""
    revision: str | None = None
    """``hf``: pinned revision; default the task's."""
    limit: int | None = ranged(None, 1)
    """Stop after this many samples (``None``: all)."""
    streaming: bool | None = None
    """``hf``: stream rather than download the whole split first (``None``: stream)."""
    images: str | None = None
    """``local``, for a task whose images are joined by id (``dataset.images`` of the task,
    GQA): the file or folder of the image rows, in that configuration's schema."""


@dataclass
class BackendConfig:
    """``backend`` group: who answers. The base every backend's own schema extends.

    Only what every backend reads lives here (the model, the prompt family, the decoding
    parameters a request carries); a backend's other options are in its own schema, so an
    option it does not have is an error at compose time.
    """

    name: str = MISSING
    """Registered backend name (``baseline``, ``openai``, ``dashscope``, ...)."""
    model: str = MISSING
    """Model identifier; part of the cache key."""
    revision: str | None = None
    """Model revision or snapshot, when known; part of the cache key."""
    prompt_family: str = "default"
    """Which of the task's prompt templates to use and which model family reads the answers
    (``default``, ``qwen-vl``, ``qwen2.5-vl``, ...; :mod:`evalkit.families`)."""
    box_format: str | None = None
    """Overrides the prompt's box convention (see :func:`evalkit.score.parse_box`)."""
    max_tokens: int | None = ranged(None, 1)
    """Overrides the task's generation budget."""
    temperature: float | None = ranged(0.0, 0.0)
    """Sampling temperature; answers sampled above 0 are never cached."""
    top_p: float | None = ranged(None, 0.0, 1.0, above=True)
    top_k: int | None = ranged(None, -1)
    """``-1`` (vLLM) or ``0`` turn it off on the servers that take it."""
    seed: int | None = 1234
    stop: list[str] = field(default_factory=list)
    repetition_penalty: float | None = ranged(None, 0.0, above=True)


@dataclass
class BaselineConfig(BackendConfig):
    """``backend=baseline``: the task's trivial answer (offline, free, never cached)."""

    answer: str = "yes"
    """The answer to every text question; ``configs/backend/baseline.yaml`` takes the task's
    ``baseline.answer``. A request that asks for a box gets the whole image."""


@dataclass
class ApiConfig(BackendConfig):
    """What the HTTP API backends share."""

    base_url: str | None = None
    """Server URL."""
    base_urls: list[str] = field(default_factory=list)
    """Several replicas of one server (the same model behind each): every request goes to the
    one with the fewest requests in flight. Instead of ``base_url``; the cache knows them as
    one server (their sorted list)."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (never the key itself)."""
    stream: bool = False
    """Ask for a streamed answer (SSE) and record the time to first token."""
    min_pixels: int | None = ranged(None, 1)
    """Qwen2/2.5-VL: lower bound of the server-side resize, sent with every image."""
    max_pixels: int | None = ranged(None, 1)
    """Qwen2/2.5-VL: upper bound of the server-side resize, sent with every image."""
    extra_body: dict[str, Any] = field(default_factory=dict)
    """Provider-specific request fields, e.g. DashScope's ``vl_high_resolution_images: true``."""
    serve: str | None = None
    """A command that starts the server, with ``{port}`` where a free loopback port goes
    (``vllm serve MODEL --port {port}``): evalkit starts it, waits for ``/v1/models``, evaluates
    it at ``http://127.0.0.1:{port}/v1`` and stops it (:mod:`evalkit.backends.serve`)."""
    serve_timeout_s: float = ranged(600.0, 0.0, above=True)
    """How long a started server may take to answer ``/v1/models`` (loading weights)."""


@dataclass
class OpenAIConfig(ApiConfig):
    """``backend=openai``: any OpenAI-compatible chat-completions server."""

    base_url: str | None = None
    """Server URL, e.g. ``http://127.0.0.1:8000/v1``; required unless ``serve`` starts one
    (there is no one default server)."""


@dataclass
class DashScopeConfig(ApiConfig):
    """``backend=dashscope``: DashScope's native ``MultiModalConversation`` protocol."""


@dataclass
class ReplayConfig(BackendConfig):
    """``backend=replay``: answers from a predictions file made elsewhere (offline, free)."""

    model: str = "replay"
    """Only a label for the run (a replayed run calls no model): by default the file's name."""
    predictions: str = MISSING
    """The predictions file: ``.jsonl``, ``.json`` (a list of objects), ``.csv``, ``.tsv``,
    ``.parquet`` or ``.xlsx``."""
    format: str = "table"
    """How the file is laid out: ``table`` (one row per sample), ``evalkit`` (another run's
    ``samples.parquet`` or folder), ``vlmevalkit`` (its ``.xlsx``/``.tsv``) or ``lmms-eval``
    (its ``samples_<task>.jsonl``)."""
    id_column: str | None = None
    """The column matched against evalkit's sample ids (docs/predictions.md, "Sample ids");
    ``None``: the format's (``sample_id``; VLMEvalKit's ``index``)."""
    prediction_column: str | None = None
    """The column holding the answer text; ``None``: the format's (``prediction``)."""
    task_id_column: str | None = None
    """The task's id column (``configs/backend/replay.yaml`` takes ``task.columns.id``): what
    an lmms-eval log's doc is paired by; its ``doc_id`` otherwise."""


@dataclass
class HFConfig(BackendConfig):
    """``backend=hf``: a local Hugging Face transformers checkpoint (the ``hf`` extra)."""

    trust_remote_code: bool = False
    """Run the checkpoint's own Python code (only for a checkpoint you trust)."""
    device: str = "auto"
    """``auto`` (CUDA when there is one, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    dtype: str = "auto"
    """``auto`` (float32 on CPU, the checkpoint's own on CUDA), ``bfloat16``, ``float16`` or
    ``float32``."""
    attn_implementation: str | None = None
    """``sdpa``, ``eager``, ``flash_attention_2``; ``None``: the library's choice."""
    batch_size: int = ranged(8, 1)
    """Requests generated together at most."""
    batch_wait_ms: float = ranged(5.0, 0.0)
    """How long the oldest waiting request waits for its batch to fill."""
    min_pixels: int | None = ranged(None, 1)
    """Qwen2/2.5-VL: the processor's lower resize bound (``None``: the checkpoint's)."""
    max_pixels: int | None = ranged(None, 1)
    """Qwen2/2.5-VL: the processor's upper resize bound (``None``: the checkpoint's)."""


@dataclass
class JudgeSettings:
    """``judge`` group: the model that judges answers, a role of its own beside ``backend``.

    Each ``configs/judge/<name>.yaml`` adds these fields to one backend's own schema
    (``judge=openai judge.model=M judge.base_url=URL judge.api_key_env=VAR``), so a judge takes
    the same options as that backend, its own limits, and its price from ``pricing``.
    ``judge=none`` (the default): no judge; a task that needs one says so.
    """

    name: str = "none"
    """``none``, ``openai``, ``dashscope``, ``hf`` or ``stand_in`` (the bundled deterministic
    stand-in, for offline runs of judged tasks: not a model, its grades mean nothing)."""
    mode: JudgeMode | None = None
    """``off``, ``fallback`` or ``always``; ``None``: the task's (``task.judge.mode``)."""
    repeats: int = ranged(1, 1)
    """Judge each answer this many times (a grader only): the mean is the score, and run.json
    reports how often the repeats agreed."""
    min_coverage: float = ranged(0.95, 0.0, 1.0)
    """The run fails (exit 2, its folder kept) when fewer of the answers the judge was asked
    about got a verdict (unreadable verdicts and judge errors are ``JudgeFailed`` rows)."""
    concurrency: int = ranged(8, 1)
    """Judge requests in flight at most."""
    rpm: int | None = ranged(None, 1)
    """Judge requests per minute at most (``None``: no limit)."""
    max_retries: int = ranged(5, 0)
    """Retries of a judge request after a transient error."""
    timeout_s: float = ranged(120.0, 0.0, above=True)
    """Per-attempt timeout of a judge request."""


@dataclass
class NoJudgeConfig(JudgeSettings):
    """``judge=none``: no judge model."""


@dataclass
class OpenAIJudgeConfig(JudgeSettings, OpenAIConfig):
    """``judge=openai``: an OpenAI-compatible server judges."""


@dataclass
class DashScopeJudgeConfig(JudgeSettings, DashScopeConfig):
    """``judge=dashscope``: a DashScope model (``qwen-max-2025-01-25``) judges."""


@dataclass
class HFJudgeConfig(JudgeSettings, HFConfig):
    """``judge=hf``: a local transformers checkpoint judges."""


@dataclass
class StandInJudgeConfig(JudgeSettings, BackendConfig):
    """``judge=stand_in``: evalkit's deterministic stand-in (rules, no model; offline demos)."""

    model: str = "stand-in"


JUDGE_SCHEMAS: dict[str, type[JudgeSettings]] = {
    "none": NoJudgeConfig,
    "openai": OpenAIJudgeConfig,
    "dashscope": DashScopeJudgeConfig,
    "hf": HFJudgeConfig,
    "stand_in": StandInJudgeConfig,
}
"""Judge option → its schema (stored as ``<name>_schema`` in Hydra's ``judge`` group)."""


class CacheMode(StrEnum):
    """Response-cache policy."""

    use = "use"
    refresh = "refresh"
    off = "off"


@dataclass
class CacheConfig:
    """``cache`` group: the persistent response cache."""

    mode: CacheMode = CacheMode.use
    """``use`` reads and writes, ``refresh`` only writes, ``off`` neither."""
    path: str | None = None
    """SQLite file; ``None`` = ``evalkit/responses.sqlite`` under the user's cache folder."""
    read_also: str | None = None
    """Another cache file read (never written) when ``path`` has no answer: a Ray shard on a
    cluster writes its own file and reads the run's cache, if its node sees it."""


@dataclass
class LimitsConfig:
    """``limits`` group: how hard to drive the backend."""

    concurrency: int = ranged(8, 1)
    """Requests in flight at once."""
    rpm: int | None = ranged(None, 1)
    """Requests per minute (``None``: unlimited)."""
    tpm: int | None = ranged(None, 1)
    """Tokens per minute (``None``: unlimited)."""
    max_retries: int = ranged(5, 0)
    """Retries of a transient failure before the sample becomes an error row."""
    timeout_s: float = ranged(120.0, 0.0, above=True)
    """Per-attempt timeout in seconds."""
    max_error_rate: float | None = ranged(0.5, 0.0, 1.0)
    """Fail the run when more than this share of its samples failed: checked as samples finish
    once 20 are in (the run stops), and at the end (exit non-zero). ``None``: keep error rows."""
    backoff_base_s: float = ranged(0.5, 0.0)
    """First retry delay; doubles per attempt, with full jitter."""
    backoff_max_s: float = ranged(30.0, 0.0)
    """Cap of one retry delay, ``Retry-After`` included."""
    adaptive: bool = True
    """Halve the requests in flight on a 429 and grow back one at a time on successes."""
    max_cost: float | None = ranged(None, 0.0)
    """Stop sending once spent plus in-flight (estimated) cost would pass this, in the model's
    price currency; the unsent samples become ``Skipped`` rows."""


@dataclass
class ReportConfig:
    """``report`` group: what the run writes and prints."""

    bootstrap: int = ranged(1000, 0)
    """Bootstrap resamples for confidence intervals (0 disables them)."""
    confidence: float = ranged(0.95, 0.0, 1.0, above=True)
    """Confidence level of the intervals."""
    seed: int = 0
    """Seed of the bootstrap."""
    flush_every: int = ranged(64, 1)
    """Sample rows buffered before they are appended to the run's journal."""
    progress: bool = True
    """Show progress: a bar on a terminal, a plain line every few seconds elsewhere (CI)."""
    progress_every_s: float = ranged(5.0, 0.0)
    """Seconds between the plain progress lines when stderr is not a terminal."""
    table: bool = True
    """Print the summary table at the end."""


@dataclass
class Price:
    """What one model costs, per 1,000 tokens."""

    currency: str = "USD"
    input: float = ranged(0.0, 0.0)
    """Input (prompt) tokens, image tokens included unless ``image`` is set."""
    output: float = ranged(0.0, 0.0)
    """Output (generated) tokens."""
    image: float | None = ranged(None, 0.0)
    """Image tokens, when billed apart from the other input tokens."""
    date: str = ""
    """When the price was read."""
    source: str = ""
    """Where it was read."""


@dataclass
class PricingConfig:
    """``configs/pricing.yaml``: prices by model name."""

    models: dict[str, Any] = field(default_factory=dict)
    """Model name → :class:`Price` fields. Kept untyped here so new models can be added on the
    command line (``'+pricing.models.m={input: 1, output: 2}'``); validated when a run of a priced
    model starts."""


@dataclass
class ShardConfig:
    """``shard``: evaluate one part of the run's samples (``evalkit merge`` joins the parts).

    The parts are fixed by the data alone, so every machine that runs one agrees on them:
    contiguous ranges of the dataset's rows when their number is known before reading,
    every ``count``-th row otherwise (:mod:`evalkit.dataset.shards`).
    """

    count: int = ranged(1, 1)
    """How many parts the run is cut into (1: the whole run)."""
    index: int = ranged(0, 0)
    """Which part this run evaluates, from 0 to ``count - 1``."""


@dataclass
class RunnerConfig:
    """``runner`` group: where the run's samples are evaluated.

    ``local`` (the default): in this process. ``ray``: on Ray, in ``workers`` processes that
    each hold one backend and evaluate the run's shards one after another; the shards are
    merged into the run folder at the end (:mod:`evalkit.run.on_ray`). The other fields are
    read by ``runner=ray`` only.
    """

    name: str = "local"
    """``local`` or ``ray``."""
    workers: int | None = ranged(None, 1)
    """Ray workers (each holds one backend). ``None``: 1 for an API backend (its limit is the
    provider's rate, not one machine), one per GPU for ``backend=hf`` (1 without GPUs)."""
    address: str | None = None
    """``None``: start a Ray instance here and stop it at the end; ``auto`` or an address:
    join that cluster."""
    shards: int | None = ranged(None, 1)
    """Parts the run is cut into (``None``: 4 per worker, so a straggler or a lost worker costs
    little)."""
    cpus_per_worker: float | None = ranged(None, 0.0, above=True)
    """CPUs Ray sets aside for each worker (``None``: 0.5, so two workers on a 2-CPU machine
    leave Ray's own tasks a CPU)."""
    gpus_per_worker: float | None = ranged(None, 0.0)
    """GPUs per worker (``None``: 1 for ``backend=hf`` when the cluster has GPUs, else 0)."""
    keep_shards: bool | None = None
    """Keep the shards' folders (``shards/`` in the run folder) after the merge."""


@dataclass
class RunConfig:
    """The whole composed configuration of one run."""

    task: TaskSpec = field(default_factory=TaskSpec)
    backend: BackendConfig = field(default_factory=BackendConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    pricing: PricingConfig = field(default_factory=PricingConfig)
    shard: ShardConfig = field(default_factory=ShardConfig)
    runner: RunnerConfig = field(default_factory=RunnerConfig)
    judge: JudgeSettings = field(default_factory=JudgeSettings)
    results_dir: str = "results"
    """Root folder of the run folders."""
    estimate: bool = False
    """Only estimate tokens and cost (no backend call, no run folder contents)."""


# --------------------------------------------------------------------------- cross-field checks
_READ_BY: dict[str, tuple[Source, ...]] = {
    "path": (Source.local,),
    "images": (Source.local,),
    "id": (Source.hf,),
    "config": (Source.hf,),
    "revision": (Source.hf,),
    "streaming": (Source.hf,),
}
"""The ``dataset`` options only some sources read (the others read ``split``, ``splits``,
``limit``)."""


def check_source_options(task: TaskSpec, cfg: DatasetConfig) -> None:
    """Refuse an option the chosen source would not read, with one line naming the way out.

    ``dataset.path=FILE`` without ``dataset=local`` would otherwise score the bundled sample
    and say nothing.

    >>> check_source_options(TaskSpec(name="t"), DatasetConfig(path="mine.jsonl"))
    Traceback (most recent call last):
    ...
    evalkit.errors.ConfigError: dataset.path is read only by dataset=local, and this run reads the bundled sample (dataset=sample): choose dataset=local, or leave dataset.path out
    """  # noqa: E501
    what = {Source.sample: "the bundled sample", Source.hf: "the Hugging Face dataset",
            Source.local: "local files"}  # fmt: skip
    for option, sources in _READ_BY.items():
        if getattr(cfg, option) is None or cfg.source in sources:
            continue
        readers = " or ".join(f"dataset={s.value}" for s in sources)
        raise ConfigError(
            f"dataset.{option} is read only by {readers}, and this run reads "
            f"{what[cfg.source]} (dataset={cfg.source.value}): choose {readers}, or leave "
            f"dataset.{option} out"
        )
    if cfg.images is not None and task.dataset.images is None:
        raise ConfigError(
            f"dataset.images: task '{task.name}' keeps its images in its rows, so nothing "
            "would read it; leave it out"
        )


def metric_specs(entries: Any) -> list[dict[str, Any]]:
    """A task file's ``metrics`` list in :class:`~evalkit.config.MetricSpec` form.

    >>> metric_specs(["anls", {"name": "vqa_accuracy", "mode": "textvqa"}])
    [{'name': 'anls'}, {'name': 'vqa_accuracy', 'params': {'mode': 'textvqa'}}]
    """
    specs = []
    for entry in entries or []:
        if isinstance(entry, str):
            specs.append({"name": entry})
            continue
        if not isinstance(entry, dict) or "name" not in entry:
            raise ConfigError(f"a metric is a name or a mapping with 'name', got {entry!r}")
        rest = {k: v for k, v in entry.items() if k not in ("name", "column", "params")}
        spec: dict[str, Any] = {"name": entry["name"]}
        if entry.get("column") is not None:
            spec["column"] = entry["column"]
        params = {**(entry.get("params") or {}), **rest}
        if params:
            spec["params"] = params
        specs.append(spec)
    return specs
