"""The known quirks of each dataset release and what the loaders do about them (notebook 01's table).

One row per quirk: the dataset, where it shows (file, column or folder), the quirk, melib's handling,
and the function that handles it (``module:function``; ``tests/test_data_quirks.py`` checks that each
exists). Facts as gathered in the project's dataset notes from public loaders and challenge material.
"""

from __future__ import annotations

QUIRKS: tuple[dict[str, str], ...] = (
    dict(dataset="CASME II", where="CASME2-coding-*.xlsx header",
         quirk="two blank header cells (pandas: 'Unnamed: 2', 'Unnamed: 6'); a 7-column copy circulates",
         handling="columns matched by name and alias, not position", by="melib.data.tables:read_sheet"),
    dict(dataset="CASME II", where="Subject column", quirk="numbers (1) in one copy, text ('01') in another",
         handling="both become 'sub01'", by="melib.data.clips:subject_casme2"),
    dict(dataset="CASME II", where="ApexFrame column", quirk="'/' or blank apex in some copies",
         handling="middle frame (onset + offset) // 2, logged", by="melib.data.clips:fix_apex"),
    dict(dataset="CASME II", where="frame folders",
         quirk="three layouts (CASME2-RAW, CASME2_RAW_selected, Cropped); some copies nest Cropped/Cropped",
         handling="the first layout present is used (variant= picks one)", by="melib.data.clips:_frames_base"),
    dict(dataset="SAMM", where="SAMM_Micro_FACS_Codes_v2.xlsx",
         quirk="title and notes rows above the header; their number differs between copies",
         handling="the header row is searched for its Subject/Filename cells", by="melib.data.tables:read_sheet"),
    dict(dataset="SAMM", where="Subject column", quirk="text '006' (the MEGC CSV writes 6)",
         handling="both become '006'", by="melib.data.clips:subject_samm"),
    dict(dataset="SAMM", where="Apex Frame column", quirk="some apex values missing",
         handling="middle frame, logged", by="melib.data.clips:fix_apex"),
    dict(dataset="CAS(ME)^3", where="label sheet", quirk="frame numbers stored as text ('355')",
         handling="parsed as numbers; anything else is an error naming the cell", by="melib.data.tables:read_sheet"),
    dict(dataset="CAS(ME)^3", where="color/ frame folders", quirk="dropped frames (missing file numbers)",
         handling="filled by the next existing frame, logged once per video", by="melib.data.videos:_video_frames"),
    dict(dataset="CAS(ME)^3", where="Onset column", quirk="onset 0 (spNO.216 e)",
         handling="first frame (onset_zero='drop' drops the row, as the ME-TST authors do)",
         by="melib.data.videos:_interval"),
    dict(dataset="CAS(ME)^3", where="Offset / Apex columns",
         quirk="offset 0 in one copy; apex outside [onset, offset]",
         handling="offset 0 -> the apex; apex clipped into the interval; both logged", by="melib.data.videos:_interval"),
    dict(dataset="CAS(ME)^3", where="ME rows", quirk="implausible lengths (spNO.214 c runs 5..3460; 9 more > 200 frames)",
         handling="kept (they are annotated) and logged", by="melib.data.videos:_interval"),
    dict(dataset="SAMM-LV", where="SAMM_LongVideos_V*_Release.xlsx",
         quirk="9 preamble rows before the header", handling="the header row is searched",
         by="melib.data.tables:read_sheet"),
    dict(dataset="SAMM-LV", where="Onset / Apex / Offset columns",
         quirk="float frame numbers in 178 macro rows; apex -1 ('not annotated') in 6 rows",
         handling="floats rounded with int(x + 0.5); -1 read as missing -> middle frame",
         by="melib.data.tables:read_sheet"),
    dict(dataset="SAMM-LV", where="Onset / Offset columns", quirk="onset 0 in 10 long macro rows; offset 0",
         handling="onset-0 macros dropped (as common loaders do); offset 0 -> the apex; logged",
         by="melib.data.videos:_interval"),
    dict(dataset="SAMM-LV", where="emotions", quirk="the release has no emotion column",
         handling="ME emotions merged from a SAMM FACS-codes file found near the root (else left empty, logged)",
         by="melib.data.videos:_samm_emotions"),
)


def quirks_table():
    """QUIRKS as a DataFrame (dataset, where, quirk, handling, by)."""
    import pandas as pd

    return pd.DataFrame(list(QUIRKS), columns=["dataset", "where", "quirk", "handling", "by"])
