"""A profile's description is one typed record (``piaa.profiles.meta.ProfileMeta``) built by one function for the
CLI's profiles and the service's alike."""
from __future__ import annotations

import json

import numpy as np
import pytest

from piaa.errors import StateError
from piaa.profiles.core import Fitted
from piaa.profiles.meta import META_VERSION, ProfileMeta, profile_meta


def _fitted(n=14, pairs=3):
    return Fitted(estimator=None, method="probe", uses_offset=True, assessment={"method_srocc": np.float64(0.4)},
                  fit="probe + Bradley-Terry comparisons", n_ratings=n, n_comparisons=pairs)


def test_built_once_and_round_trips_through_json():
    m = profile_meta(_fitted(), scale=(1, 5), model_scale=np.array([1.0, 7.0]), generic_model="oasis-beauty-lite0",
                     source="api", notes=["2 photos left out"], base="library", library_people=np.int64(20))
    d = json.loads(json.dumps(m.to_json(), allow_nan=False))
    assert d["n_ratings"] == 14 and d["n_comparisons"] == 3 and d["scale"] == [1.0, 5.0]
    assert d["model_scale"] == [1.0, 7.0] and d["library_people"] == 20 and d["version"] == META_VERSION
    assert ProfileMeta.from_json(d) == m


def test_the_cli_and_the_service_write_the_same_keys():
    cli = profile_meta(_fitted(), scale=(1, 10), model_scale=(1, 7), generic_model="g", source="csv:x.csv",
                       params={"alpha": 1.0}).to_json()
    svc = profile_meta(_fitted(), scale=(1, 5), model_scale=(1, 7), generic_model="g").to_json()
    common = {"method", "fit", "n_ratings", "n_comparisons", "scale", "model_scale", "uses_offset", "assessment",
              "generic_model", "version", "piaa_version"}
    assert common <= set(cli) and common <= set(svc)


def test_older_records_are_read_and_unknown_keys_kept():
    old = {"version": 1, "source": "csv:a.csv", "notes": [], "uses_offset": False, "generic_model": "g",
           "params": {}, "scale": [1, 5], "model_scale": [1, 7], "assessment": None, "someday": {"x": 1}}
    m = ProfileMeta.from_json(old, method="pa-iaa")
    assert (m.method, m.fit, m.n_ratings, m.extra) == ("pa-iaa", "pa-iaa", 0, {"someday": {"x": 1}})
    assert m.to_json()["someday"] == {"x": 1}
    with pytest.raises(StateError, match="cannot be read"):
        ProfileMeta.from_json({"method": "probe"})  # no scale
