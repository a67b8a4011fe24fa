"""Every segment id HL7 v2.1-2.8 defines (vendors' Z-segments aside), as data.

A stray CR that splits a segment leaves a tail such as "MDC|..." or "R01|...": not a segment,
so the frame is rejected. The ids are those of the HL7 v2.x standard's segment tables (v2.1,
2.2, 2.3, 2.3.1, 2.4, 2.5, 2.5.1, 2.6, 2.7, 2.8, 2.8.1, 2.8.2); tests/test_hl7_er7.py checks
this set against the parser library used there as a reference.
"""

from __future__ import annotations

SEGMENT_IDS: frozenset[str] = frozenset((
    "ABS", "ACC", "ADD", "ADJ", "AFF", "AIG", "AIL", "AIP", "AIS", "AL1", "APR", "ARQ", "ARV",
    "AUT", "BHS", "BLC", "BLG", "BPO", "BPX", "BTS", "BTX", "BUI", "CDM", "CDO", "CER", "CM0",
    "CM1", "CM2", "CNS", "CON", "CSP", "CSR", "CSS", "CTD", "CTI", "DB1", "DG1", "DMI", "DON",
    "DPS", "DRG", "DSC", "DSP", "ECD", "ECR", "EDU", "EQL", "EQP", "EQU", "ERQ", "ERR", "EVN",
    "FAC", "FHS", "FT1", "FTS", "GOL", "GP1", "GP2", "GT1", "IAM", "IAR", "IIM", "ILT", "IN1",
    "IN2", "IN3", "INV", "IPC", "IPR", "ISD", "ITM", "IVC", "IVT", "LAN", "LCC", "LCH", "LDP",
    "LOC", "LRL", "MCP", "MFA", "MFE", "MFI", "MRG", "MSA", "MSH", "NCK", "NDS", "NK1", "NPU",
    "NSC", "NST", "NTE", "OBR", "OBX", "ODS", "ODT", "OM1", "OM2", "OM3", "OM4", "OM5", "OM6",
    "OM7", "OMC", "ORC", "ORG", "ORO", "OVR", "PAC", "PCE", "PCR", "PD1", "PDA", "PDC", "PEO",
    "PES", "PID", "PKG", "PM1", "PMT", "PR1", "PRA", "PRB", "PRC", "PRD", "PRT", "PSG", "PSH",
    "PSL", "PSS", "PTH", "PV1", "PV2", "PYE", "QAK", "QID", "QPD", "QRD", "QRF", "QRI", "RCP",
    "RDF", "RDT", "REL", "RF1", "RFI", "RGS", "RMI", "ROL", "RQ1", "RQD", "RX1", "RXA", "RXC",
    "RXD", "RXE", "RXG", "RXO", "RXR", "RXV", "SAC", "SCD", "SCH", "SCP", "SDD", "SFT", "SGH",
    "SGT", "SHP", "SID", "SLT", "SPM", "SPR", "STF", "STZ", "TCC", "TCD", "TQ1", "TQ2", "TXA",
    "UAC", "UB1", "UB2", "URD", "URS", "VAR", "VND", "VTQ"
))
