"""Builders of the shipped assets (``piaa train ...``): the default scoring model, the PA_IAA network, the taste
prior. Research code that reads ../shared/data; it sits above personalize and below the interfaces."""
