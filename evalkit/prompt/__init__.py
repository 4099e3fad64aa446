"""Stage ②: :class:`~evalkit.records.Sample` → :class:`~evalkit.records.Request`."""

from evalkit.prompt.templates import RenderPlan, plan_rendering, render

__all__ = ["RenderPlan", "plan_rendering", "render"]
