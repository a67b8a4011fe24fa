"""IEEE 11073-10101 (MDC) codes: the one parameter vocabulary of Holdspace.

Every decoder maps its monitor's own identifiers onto these codes; the store keeps them; the
export turns them into LOINC through `PARAMETERS`. Codes are 32-bit "MDC codes"
(partition << 16 | term code); the SCADA partition is 2, so e.g. Philips physio id 16770
becomes 2 * 65536 + 16770 = 147842 (MDC_ECG_HEART_RATE).
"""

from __future__ import annotations

from dataclasses import dataclass

# Numerics (partition 2, SCADA)
MDC_ECG_HEART_RATE = 147842
MDC_PULS_RATE = 149514  # pulse rate (non-specific source)
MDC_PULS_OXIM_PULS_RATE = 149530
MDC_PULS_OXIM_SAT_O2 = 150456
MDC_PULS_OXIM_PERF_REL = 150448  # perfusion index (term 19376)
MDC_PRESS_BLD_NONINV_SYS = 150021
MDC_PRESS_BLD_NONINV_DIA = 150022
MDC_PRESS_BLD_NONINV_MEAN = 150023
MDC_PRESS_CUFF_SYS = 150301  # the same NIBP values under the cuff-pressure family
MDC_PRESS_CUFF_DIA = 150302
MDC_PRESS_CUFF_MEAN = 150303
MDC_RESP_RATE = 151562
MDC_TTHOR_RESP_RATE = 151578  # impedance respiration rate
MDC_AWAY_CO2_ET = 151708
MDC_TEMP = 150344
# Waveforms
MDC_PULS_OXIM_PLETH = 150452
MDC_ECG_ELEC_POTL_II = 131330
MDC_ECG_ELEC_POTL = 131328  # ECG, lead not specified (the monitor's first trace, e.g. S/5 ECG1)

# Units (partition 4, DIM)
MDC_DIM_DIMLESS = 262144
MDC_DIM_PERCENT = 262688
MDC_DIM_BEAT_PER_MIN = 264864
MDC_DIM_RESP_PER_MIN = 264928
MDC_DIM_MMHG = 266016
MDC_DIM_DEGC = 268192

UNIT_TEXT: dict[int, str] = {
    MDC_DIM_DIMLESS: "",
    MDC_DIM_PERCENT: "%",
    MDC_DIM_BEAT_PER_MIN: "/min",
    MDC_DIM_RESP_PER_MIN: "/min",
    MDC_DIM_MMHG: "mmHg",
    MDC_DIM_DEGC: "°C",
}


@dataclass(frozen=True, slots=True)
class Parameter:
    code: int
    name: str  # the MDC reference id
    label: str  # what a clinician calls it
    unit: int
    loinc: str | None  # for export; None where no single LOINC code fits


PARAMETERS: dict[int, Parameter] = {
    p.code: p
    for p in (
        Parameter(MDC_ECG_HEART_RATE, "MDC_ECG_HEART_RATE", "HR", MDC_DIM_BEAT_PER_MIN, "8867-4"),
        Parameter(MDC_PULS_RATE, "MDC_PULS_RATE", "Pulse", MDC_DIM_BEAT_PER_MIN, "8889-8"),
        Parameter(
            MDC_PULS_OXIM_PULS_RATE, "MDC_PULS_OXIM_PULS_RATE", "PR", MDC_DIM_BEAT_PER_MIN, "8889-8"
        ),
        Parameter(MDC_PULS_OXIM_SAT_O2, "MDC_PULS_OXIM_SAT_O2", "SpO2", MDC_DIM_PERCENT, "59408-5"),
        Parameter(MDC_PULS_OXIM_PERF_REL, "MDC_PULS_OXIM_PERF_REL", "PI", MDC_DIM_PERCENT, "61006-3"),
        Parameter(
            MDC_PRESS_BLD_NONINV_SYS, "MDC_PRESS_BLD_NONINV_SYS", "NIBP sys", MDC_DIM_MMHG, "8480-6"
        ),
        Parameter(
            MDC_PRESS_BLD_NONINV_DIA, "MDC_PRESS_BLD_NONINV_DIA", "NIBP dia", MDC_DIM_MMHG, "8462-4"
        ),
        Parameter(
            MDC_PRESS_BLD_NONINV_MEAN, "MDC_PRESS_BLD_NONINV_MEAN", "NIBP mean", MDC_DIM_MMHG, "8478-0"
        ),
        Parameter(MDC_RESP_RATE, "MDC_RESP_RATE", "RR", MDC_DIM_RESP_PER_MIN, "9279-1"),
        Parameter(MDC_TTHOR_RESP_RATE, "MDC_TTHOR_RESP_RATE", "RR imp", MDC_DIM_RESP_PER_MIN, "9279-1"),
        Parameter(MDC_AWAY_CO2_ET, "MDC_AWAY_CO2_ET", "EtCO2", MDC_DIM_MMHG, "19889-5"),
        Parameter(MDC_TEMP, "MDC_TEMP", "Temp", MDC_DIM_DEGC, "8310-5"),
        Parameter(MDC_PULS_OXIM_PLETH, "MDC_PULS_OXIM_PLETH", "Pleth", MDC_DIM_DIMLESS, None),
        Parameter(MDC_ECG_ELEC_POTL_II, "MDC_ECG_ELEC_POTL_II", "ECG II", MDC_DIM_DIMLESS, None),
        Parameter(MDC_ECG_ELEC_POTL, "MDC_ECG_ELEC_POTL", "ECG", MDC_DIM_DIMLESS, None),
    )
}

# Vendors send NIBP under either family; the console shows and alarms on the first.
CANONICAL: dict[int, int] = {
    MDC_PRESS_CUFF_SYS: MDC_PRESS_BLD_NONINV_SYS,
    MDC_PRESS_CUFF_DIA: MDC_PRESS_BLD_NONINV_DIA,
    MDC_PRESS_CUFF_MEAN: MDC_PRESS_BLD_NONINV_MEAN,
    MDC_TTHOR_RESP_RATE: MDC_RESP_RATE,
}


def canonical(code: int) -> int:
    """The code under which a parameter is stored and shown (NIBP cuff family folded)."""
    return CANONICAL.get(code, code)


def label(code: int) -> str:
    p = PARAMETERS.get(code)
    return p.label if p else f"MDC {code}"


def unit_text(unit: int) -> str:
    return UNIT_TEXT.get(unit, "")
