"""Versioned files through the kernel: the syscalls, quotas from the config, access."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmagentos import Capabilities
from llmagentos.storage.config import StorageConfig
from llmagentos.storage.files import FileQuota


async def test_history_rollback_diff_through_syscalls(make_kernel: Callable[..., Any]) -> None:
    kernel = await make_kernel()

    async def prog(ctx: Any) -> Any:
        await ctx.write_file("plan.md", "step 1\n")
        await ctx.write_file("plan.md", "step 1\nstep 2\n")
        versions = [v.version for v in await ctx.file_history("plan.md")]
        old = await ctx.read_file("plan.md", version=1)
        patch = await ctx.diff_file("plan.md", 1)
        back = await ctx.rollback_file("plan.md", 1)
        return [versions, old, patch.splitlines()[-1], back, await ctx.read_file("plan.md")]

    status = await kernel.run(prog)
    assert status.state == "done", status.error
    assert status.result == [[1, 2], "step 1\n", "+step 2", 3, "step 1\n"]


async def test_quota_from_config_is_a_typed_error(make_kernel: Callable[..., Any]) -> None:
    storage = StorageConfig(namespace_quotas={"proc/*": FileQuota(max_files=1)})
    kernel = await make_kernel(storage=storage)

    async def prog(ctx: Any) -> Any:
        await ctx.write_file("a", "1")
        try:
            await ctx.write_file("b", "2")
        except Exception as exc:
            return [type(exc).__name__, exc.details["field"], await ctx.list_files()]

    status = await kernel.run(prog)
    assert status.result == ["QuotaExceeded", "files", ["a"]]


async def test_versions_of_another_namespace_need_its_capability(
    make_kernel: Callable[..., Any],
) -> None:
    kernel = await make_kernel()

    async def owner(ctx: Any) -> None:
        await ctx.write_file("secret.txt", "v1")
        await ctx.write_file("secret.txt", "v2")

    await kernel.run(owner, name="owner")

    async def snoop(ctx: Any) -> Any:
        out = []
        for call in (
            ctx.file_history("secret.txt", namespace="proc/owner"),
            ctx.diff_file("secret.txt", 1, namespace="proc/owner"),
            ctx.rollback_file("secret.txt", 1, namespace="proc/owner"),
            ctx.read_file("secret.txt", namespace="proc/owner", version=1),
        ):
            try:
                await call
                out.append("allowed")
            except Exception as exc:
                out.append(type(exc).__name__)
        return out

    caps = Capabilities(namespaces=("proc/snoop",))
    status = await kernel.run(snoop, capabilities=caps)
    assert status.result == ["PermissionDenied"] * 4
