"""console.store.history: a session's readings per parameter as arrays, in time order, every
source, aliases folded, no value as NaN; shared and brought up to date, never read twice."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from console.store import records
from console.store.db import open_db, open_reader
from console.store.history import session_history
from console.store.writer import StoreWriter
from devices import mdc
from devices.reading import Quality, Reading

HR = mdc.MDC_ECG_HEART_RATE


def test_every_source_in_time_order_with_aliases_folded(db_path: Path) -> None:
    w = StoreWriter(str(db_path))
    w.start()
    try:
        sid = w.call(lambda c: records.start_session(c, None, 100.0)).result(5)
        other = w.call(lambda c: records.start_session(c, None, 100.0)).result(5)
        w.add_samples(sid, [Reading(110.0, "sim:/dev/ttyUSB1", HR, 80, 0),
                            Reading(101.0, "sim:/dev/ttyUSB0", HR, 70, 0),
                            Reading(105.0, "sim:/dev/ttyUSB0", HR, math.nan, 0,
                                    Quality.INVALID),
                            Reading(102.0, "m", mdc.MDC_PRESS_CUFF_SYS, 120, 0),
                            Reading(103.0, "m", mdc.MDC_PRESS_BLD_NONINV_SYS, 125, 0)])
        w.add_samples(other, [Reading(104.0, "x", HR, 99, 0)])
        w.flush()
        reader = open_reader(db_path)
        h = session_history(reader, sid)
        s = h.series(HR)
        assert s.t.tolist() == [101.0, 105.0, 110.0]
        assert s.value[0] == 70 and math.isnan(s.value[1]) and s.value[2] == 80
        assert s.quality.tolist() == [Quality.VALID, Quality.INVALID, Quality.VALID]
        bp = h.series(mdc.MDC_PRESS_CUFF_SYS)
        assert bp.t.tolist() == [102.0, 103.0] and bp.value.tolist() == [120, 125]
        assert h.series(mdc.MDC_RESP_RATE).t.size == 0

        # Shared: the next one to ask gets the same history, with what was stored since.
        w.add_samples(sid, [Reading(108.0, "sim:/dev/ttyUSB1", HR, 75, 0),
                            Reading(111.0, "sim:/dev/ttyUSB1", HR, 81, 0)])
        w.flush()
        again = session_history(reader, sid)
        assert again is h
        assert again.series(HR).t.tolist() == [101.0, 105.0, 108.0, 110.0, 111.0]
        assert again.series(HR).value[-1] == 81
        assert session_history(reader, other).series(HR).t.tolist() == [104.0]
        assert session_history(reader, sid) is not h, "another session was asked for since"
        reader.close()
    finally:
        w.stop()


def test_an_empty_session(tmp_path: Path) -> None:
    conn = open_db(tmp_path / "h.db")
    sid = records.start_session(conn, None, 1.0)
    s = session_history(conn, sid).series(HR)
    assert len(s) == 0 and s.value.dtype == np.float64
    conn.close()
