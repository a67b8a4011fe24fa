"""IEEE 11073-10101 (MDC) codes: the one parameter vocabulary of Holdspace.

Every decoder maps its monitor's own identifiers onto these codes; the store keeps them; the
export turns them into LOINC through `PARAMETERS`. Codes are 32-bit "MDC codes"
(partition << 16 | term code); the SCADA partition is 2, so e.g. Philips physio id 16770
becomes 2 * 65536 + 16770 = 147842 (MDC_ECG_HEART_RATE).

Vendors send one meaning under several codes (NIBP as NONINV or CUFF, end-tidal CO2 as GE's
CONC_AWAY_CO2_EXP or Philips' own AWAY_CO2_ET); `canonical` folds each onto the one code that is
stored, shown and alarmed on. Every code below names its source:
[10101] ISO/IEEE 11073-10101 (and -10101a) as published in NIST RTMMS;
[PHILIPS] Philips IntelliVue Data Export Programming Guide rev G (4535 642 59271), chapter
  "Physiological Identifier": the physio ids IntelliVue monitors, the Information Center and
  SureSigns/Efficia send (MIB/RS232, and as MDIL codes "0002-xxxx" over HL7);
[EFFICIA] Philips Efficia CM Series Data Export Guide, "MDIL Coding" (p. 3-27): MDIL codes are
  <partition>-<term> in hexadecimal, partition 2 SCADA, 4 dimensions (units);
[GE] GE CARESCAPE/B40 HL7 (IHE PCD-01) reference manual 2062665-001: OBX examples with
  151712^MDC_CONC_AWAY_CO2_EXP (end-tidal CO2) and 151716^MDC_CONC_AWAY_CO2_INSP.
LOINC codes are given only where one code fits the parameter in its unit; None otherwise.
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
# Pulse-rate variants [10101][PHILIPS]
MDC_BLD_PULS_RATE_INV = 149522  # from an arterial line (term 0x4812) [10101][GE]
MDC_PLETH_PULS_RATE = 149538  # Philips NOM_PLETH_PULS_RATE 0x4822: the SpO2 pulse rate [PHILIPS]
MDC_PULS_RATE_NON_INV = 149546  # from the NIBP cuff (term 0x482A) [10101]
PHILIPS_PRESS_BLD_NONINV_PULS_RATE = 192741  # NOM_PRESS_BLD_NONINV_PULS_RATE 0xF0E5 [PHILIPS]
# End-tidal and inspired CO2 (mmHg) [10101][GE][PHILIPS]
MDC_CONC_AWAY_CO2_ET = MDC_AWAY_CO2_ET  # the 10101a reference id of the same code (term 0x509C)
MDC_CONC_AWAY_CO2_EXP = 151712  # GE sends end-tidal CO2 under this (term 0x50A0) [GE]
MDC_CONC_AWAY_CO2_INSP = 151716  # inspired CO2 (term 0x50A4) [GE]
MDC_CONC_AWAY_CO2_INSP_MIN = 151718  # minimal inspired CO2 (term 0x50A6) [10101]
PHILIPS_AWAY_CO2_ET = 151728  # NOM_AWAY_CO2_ET 0x50B0, Philips' etCO2 [PHILIPS][EFFICIA]
PHILIPS_AWAY_CO2_INSP_MIN = 151738  # NOM_AWAY_CO2_INSP_MIN 0x50BA, imCO2 [PHILIPS]
# End-tidal and inspired O2 (%) [10101][PHILIPS]
MDC_CONC_AWAY_O2_INSP = 152196  # NOM_CONC_AWAY_O2_INSP 0x5284 [PHILIPS]
MDC_CONC_AWAY_O2_ET = 152440  # NOM_CONC_AWAY_O2_ET 0x5378 [PHILIPS]
MDC_VENT_CONC_AWAY_O2_INSP = 151920  # FiO2 from a ventilator (term 0x5170) [10101]
PHILIPS_VENT_CONC_AWAY_O2_INSP = 160920  # NOM_VENT_CONC_AWAY_O2_INSP 0x7498, FIO2 [PHILIPS]
# Temperature sites (°C) [10101][PHILIPS]
MDC_TEMP_BODY = 150364  # 0x4B5C
MDC_TEMP_CORE = 150368  # 0x4B60
MDC_TEMP_ESOPH = 150372  # 0x4B64
MDC_TEMP_NASOPH = 150380  # 0x4B6C
MDC_TEMP_SKIN = 150388  # 0x4B74
MDC_TEMP_TYMP = 150392  # 0x4B78
MDC_TEMP_RECT = 188420  # NOM_TEMP_RECT 0xE004 [PHILIPS]
MDC_TEMP_ORAL = 192776  # NOM_TEMP_ORAL 0xF108 [PHILIPS]
MDC_TEMP_AXIL = 192780  # NOM_TEMP_AXIL 0xF10C [PHILIPS]
PHILIPS_TEMP_ORAL_PRED = 192784  # NOM_TEMP_ORAL_PRED 0xF110: predictive (spot check) oral
PHILIPS_TEMP_RECT_PRED = 192788  # NOM_TEMP_RECT_PRED 0xF114
PHILIPS_TEMP_AXIL_PRED = 192792  # NOM_TEMP_AXIL_PRED 0xF118
TEMP_ORAL_E008 = 188424  # listed as MDC_TEMP_ORAL (0xE008) in public 11073 headers: UNVERIFIED
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
# 10101's MDC_DIM_DIMLESS is term 512 (0x0200, what Philips and Mindray send); Holdspace has
# always stored "no unit" as 262144 (term 0), so incoming 262656 is read as that.
MDC_DIM_DIMLESS_10101 = 262656

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
        # 19891-1 is CO2 partial pressure at end expiration (mmHg); 19889-5 is the volume
        # fraction (%), not what is stored here.
        Parameter(MDC_AWAY_CO2_ET, "MDC_AWAY_CO2_ET", "EtCO2", MDC_DIM_MMHG, "19891-1"),
        Parameter(MDC_TEMP, "MDC_TEMP", "Temp", MDC_DIM_DEGC, "8310-5"),
        Parameter(MDC_BLD_PULS_RATE_INV, "MDC_BLD_PULS_RATE_INV", "PR (art)", MDC_DIM_BEAT_PER_MIN,
                  None),
        Parameter(MDC_PULS_RATE_NON_INV, "MDC_PULS_RATE_NON_INV", "PR (NIBP)",
                  MDC_DIM_BEAT_PER_MIN, None),
        Parameter(MDC_CONC_AWAY_CO2_INSP, "MDC_CONC_AWAY_CO2_INSP", "FiCO2", MDC_DIM_MMHG, None),
        Parameter(MDC_CONC_AWAY_O2_INSP, "MDC_CONC_AWAY_O2_INSP", "FiO2", MDC_DIM_PERCENT,
                  "3150-0"),
        Parameter(MDC_CONC_AWAY_O2_ET, "MDC_CONC_AWAY_O2_ET", "EtO2", MDC_DIM_PERCENT, None),
        Parameter(MDC_TEMP_BODY, "MDC_TEMP_BODY", "Temp body", MDC_DIM_DEGC, "8310-5"),
        Parameter(MDC_TEMP_CORE, "MDC_TEMP_CORE", "Temp core", MDC_DIM_DEGC, "8329-5"),
        Parameter(MDC_TEMP_ESOPH, "MDC_TEMP_ESOPH", "Temp esoph", MDC_DIM_DEGC, None),
        Parameter(MDC_TEMP_NASOPH, "MDC_TEMP_NASOPH", "Temp nasoph", MDC_DIM_DEGC, None),
        Parameter(MDC_TEMP_SKIN, "MDC_TEMP_SKIN", "Temp skin", MDC_DIM_DEGC, None),
        Parameter(MDC_TEMP_TYMP, "MDC_TEMP_TYMP", "Temp tymp", MDC_DIM_DEGC, "8333-7"),
        Parameter(MDC_TEMP_RECT, "MDC_TEMP_RECT", "Temp rect", MDC_DIM_DEGC, "8332-9"),
        Parameter(MDC_TEMP_ORAL, "MDC_TEMP_ORAL", "Temp oral", MDC_DIM_DEGC, "8331-1"),
        Parameter(MDC_TEMP_AXIL, "MDC_TEMP_AXIL", "Temp axil", MDC_DIM_DEGC, "8328-7"),
        Parameter(MDC_PULS_OXIM_PLETH, "MDC_PULS_OXIM_PLETH", "Pleth", MDC_DIM_DIMLESS, None),
        Parameter(MDC_ECG_ELEC_POTL_II, "MDC_ECG_ELEC_POTL_II", "ECG II", MDC_DIM_DIMLESS, None),
        Parameter(MDC_ECG_ELEC_POTL, "MDC_ECG_ELEC_POTL", "ECG", MDC_DIM_DIMLESS, None),
    )
}

# One meaning, several codes: the console stores, shows and alarms on the value's code here.
CANONICAL: dict[int, int] = {
    # NIBP under either family [10101]
    MDC_PRESS_CUFF_SYS: MDC_PRESS_BLD_NONINV_SYS,
    MDC_PRESS_CUFF_DIA: MDC_PRESS_BLD_NONINV_DIA,
    MDC_PRESS_CUFF_MEAN: MDC_PRESS_BLD_NONINV_MEAN,
    MDC_TTHOR_RESP_RATE: MDC_RESP_RATE,
    # Philips' ids whose 2 * 65536 + id is not our code for that meaning (the remap the
    # IntelliVue decoder has always applied, here for every decoder and every coding system)
    MDC_PLETH_PULS_RATE: MDC_PULS_OXIM_PULS_RATE,
    PHILIPS_AWAY_CO2_ET: MDC_AWAY_CO2_ET,
    PHILIPS_PRESS_BLD_NONINV_PULS_RATE: MDC_PULS_RATE_NON_INV,
    # End-tidal / inspired families [GE][PHILIPS][10101]
    MDC_CONC_AWAY_CO2_EXP: MDC_AWAY_CO2_ET,
    MDC_CONC_AWAY_CO2_INSP_MIN: MDC_CONC_AWAY_CO2_INSP,
    PHILIPS_AWAY_CO2_INSP_MIN: MDC_CONC_AWAY_CO2_INSP,
    MDC_VENT_CONC_AWAY_O2_INSP: MDC_CONC_AWAY_O2_INSP,
    PHILIPS_VENT_CONC_AWAY_O2_INSP: MDC_CONC_AWAY_O2_INSP,
    # Temperature: a predictive (spot-check) reading is a reading at its site [PHILIPS]
    PHILIPS_TEMP_ORAL_PRED: MDC_TEMP_ORAL,
    PHILIPS_TEMP_RECT_PRED: MDC_TEMP_RECT,
    PHILIPS_TEMP_AXIL_PRED: MDC_TEMP_AXIL,
    TEMP_ORAL_E008: MDC_TEMP_ORAL,
}


def canonical(code: int) -> int:
    """The code under which a parameter is stored and shown (NIBP cuff family folded)."""
    return CANONICAL.get(code, code)


SCADA = 2  # the partition of physiological measurements
DIM = 4  # the partition of units


def from_partition(partition: int, term: int) -> int:
    """The canonical MDC code of a partition and term code (e.g. Philips' 2, 0x4822: the SpO2
    pulse rate, stored as MDC_PULS_OXIM_PULS_RATE)."""
    return canonical((partition << 16) | term)


def label(code: int) -> str:
    p = PARAMETERS.get(code)
    return p.label if p else f"MDC {code}"


def unit_text(unit: int) -> str:
    return UNIT_TEXT.get(unit, "")
