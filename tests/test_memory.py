import platform
import resource
import sys

import pytest
import torch

from latentaudio import memory


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(memory, "_done", None)
    monkeypatch.delenv(memory.OPT_OUT, raising=False)


def test_set_once_on_linux_glibc(fresh):
    expected = sys.platform.startswith("linux") and "glibc" in " ".join(
        platform.libc_ver())
    assert memory.reuse_large_blocks() is expected
    assert memory.reuse_large_blocks() is expected  # idempotent: the first answer stands


def test_opt_out_leaves_the_allocator(fresh, monkeypatch):
    monkeypatch.setenv(memory.OPT_OUT, "1")
    assert memory.reuse_large_blocks() is False


def _faults_of_a_large_tensor() -> int:
    """Page faults taken by making (and touching) a 64 MB tensor."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = torch.ones(64 * 2**20 // 4)
    assert float(block.sum()) == block.numel()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_a_freed_large_tensor_is_reused_not_paged_in_again(fresh):
    if not memory.reuse_large_blocks():
        pytest.skip("not glibc: the allocator is left as it is")
    faults = [_faults_of_a_large_tensor() for _ in range(8)]
    pages = 64 * 2**20 // resource.getpagesize()
    # glibc's default maps every such block anew: a fault per page (16 384) every time. Reused,
    # the heap stops growing after the first few rounds and the rest fault almost nothing.
    assert sum(faults[-3:]) < pages // 10, faults
