"""Genesys Cloud regions: the names users know them by, and the hosts they mean.

A region may be given as its domain (`mypurecloud.ie`), an AWS-style name (`eu-west-1`) or the
SDKs' name (`eu_west_1`). A domain that is not in the table is taken as it is, so a region
Genesys opens after this release still works.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .errors import ConfigurationError

DOMAINS = {  # SDK region name -> domain (platform-client-sdk region hosts)
    "us_east_1": "mypurecloud.com",
    "us_east_2": "use2.us-gov-pure.cloud",
    "us_west_2": "usw2.pure.cloud",
    "ca_central_1": "cac1.pure.cloud",
    "sa_east_1": "sae1.pure.cloud",
    "mx_central_1": "mxc1.pure.cloud",
    "eu_west_1": "mypurecloud.ie",
    "eu_west_2": "euw2.pure.cloud",
    "eu_central_1": "mypurecloud.de",
    "eu_central_2": "euc2.pure.cloud",
    "eusc_de_east_1": "edee1.eusc-pure.cloud",
    "me_central_1": "mec1.pure.cloud",
    "ap_south_1": "aps1.pure.cloud",
    "ap_southeast_1": "apse1.pure.cloud",
    "ap_southeast_2": "mypurecloud.com.au",
    "ap_northeast_1": "mypurecloud.jp",
    "ap_northeast_2": "apne2.pure.cloud",
    "ap_northeast_3": "apne3.pure.cloud",
}


def region_domain(region: str) -> str:
    """The domain of a region given in any of its three spellings (or as an API/login URL)."""
    text = region.strip().lower()
    if "://" in text:
        text = urlsplit(text).hostname or ""
    for prefix in ("api.", "login."):
        if text.startswith(prefix):
            text = text[len(prefix):]
    name = text.replace("-", "_")
    if name in DOMAINS:
        return DOMAINS[name]
    if "." in text and " " not in text:
        return text.rstrip(".")
    known = ", ".join(f"{domain} ({name})" for name, domain in DOMAINS.items())
    raise ConfigurationError(f"unknown Genesys Cloud region {region!r}: give a domain, an AWS-style name "
                             f"(eu-west-1) or an SDK name (eu_west_1). Known regions: {known}")


def api_url(domain: str) -> str:
    return f"https://api.{domain}"


def login_url(domain: str) -> str:
    return f"https://login.{domain}"

