"""The subject setting of the Data page: keep each patient's (specimen's, session's) pictures in one split."""

from __future__ import annotations

import streamlit as st

from tlcore import SETTINGS, safe_filename, write_bytes_atomic

from .calls import attempt
from .state import update_config, workspace

_WAYS = {"auto": "Find them in the file names (e.g. person123_…, IM-0115-0001)",
         "none": "There are none: split pictures at random",
         "pattern": "A pattern I give",
         "csv": "A CSV file of path,group"}


def _way(group_by: str) -> str:
    if group_by in ("auto", "none"):
        return group_by
    return "csv" if group_by.lower().endswith(".csv") else "pattern"


def subject_setting(config):
    """Draw the setting; returns the (possibly changed) current settings."""
    current = config.group_by or "auto"
    way = st.radio("Pictures of one subject (a patient, specimen or session)", list(_WAYS), format_func=_WAYS.get,
                   index=list(_WAYS).index(_way(current)), key="data_group_way",
                   help=SETTINGS["group_by"].help + ". Validation pictures then never share a subject with training "
                        "pictures, so the validation score is not inflated by pictures the model has practically seen.")
    if way in ("auto", "none") and way != current:
        return update_config(group_by=way)
    if way == "pattern":
        text = st.text_input("Regular expression whose first (group) is the subject, searched in each file name",
                             value=current if _way(current) == "pattern" else "", placeholder=r"^(patient\d+)_",
                             key="data_group_pattern")
        if text.strip() and text.strip() != current and st.button("Use this pattern", key="data_group_apply"):
            return update_config(group_by=text.strip())
    if way == "csv":
        upload = st.file_uploader("CSV with columns path,group (paths as the report writes them)", type=["csv"],
                                  key="data_group_csv")
        if upload is not None:
            target = workspace().uploads_dir / ("groups-" + safe_filename(upload.name, "groups.csv"))
            if str(target) != current and attempt(write_bytes_atomic, target, upload.getvalue(),
                                                  what="saving the CSV"):
                return update_config(group_by=str(target))
        elif _way(current) == "csv":
            st.caption(f"In use: `{current.rsplit('/', 1)[-1]}`")
    return config
