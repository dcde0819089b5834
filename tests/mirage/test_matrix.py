"""The loss matrix: 10 MB each way between two stacks over the switch, with 0%, 1% and
5% loss in both directions plus reordering and duplication; sha256 intact, no stall."""

from __future__ import annotations

import hashlib
import random

import pytest

from backends.mirage.faults import Faults

from .harness import Net, transfer

SIZE = 10_000_000


@pytest.mark.parametrize("loss", [0.0, 0.01, 0.05])
def test_ten_megabytes_each_way(loss: float) -> None:
    faults = Faults(
        drop=loss,
        duplicate=0.01 if loss else 0.0,
        reorder=0.01 if loss else 0.0,
        seed=int(loss * 1000) + 7,
    )
    net = Net(faults_a=faults)
    client, server = net.pair()
    up = random.Random(1).randbytes(SIZE)
    down = random.Random(2).randbytes(SIZE)
    start = net.clock.time
    got_up = transfer(net, client, server, up, limit=600.0)
    got_down = transfer(net, server, client, down, limit=600.0)
    assert hashlib.sha256(got_up).hexdigest() == hashlib.sha256(up).hexdigest()
    assert hashlib.sha256(got_down).hexdigest() == hashlib.sha256(down).hexdigest()
    elapsed = net.clock.time - start  # virtual seconds: bounded, whatever the loss
    assert elapsed < 300
    assert net.sched.errors == 0
    assert net.faulty is not None
    stats = net.faulty.stats
    if loss:
        # the faults really happened, both ways
        assert stats["out"]["dropped"] > 0 and stats["in"]["dropped"] > 0
        assert stats["out"]["duplicated"] > 0 and stats["out"]["reordered"] > 0
        # ... and recovery repaired them: counted, and mostly without timeouts
        for sender in (client, server):
            counted = sender.loss_stats
            assert counted.retransmitted > 0 and counted.recoveries > 0
            assert counted.timeouts < counted.recoveries
    else:
        for sender in (client, server):
            assert sender.loss_stats.as_dict() == {
                "retransmitted": 0,
                "timeouts": 0,
                "probes": 0,
                "dsacks": 0,
                "recoveries": 0,
                "recovery_time": 0.0,
            }
