"""Settings: regions in three spellings, .env files, overrides, and a secret that never shows."""

import pytest

from genesys.config import Secret, Settings, read_dotenv
from genesys.errors import ConfigurationError
from genesys.regions import region_domain

CREDENTIALS = {"GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "s3cret"}


@pytest.mark.parametrize("region", ["mypurecloud.ie", "eu-west-1", "eu_west_1", "EU_WEST_1", "api.mypurecloud.ie",
                                    "https://api.mypurecloud.ie/"])
def test_a_region_in_any_spelling_means_its_hosts(region):
    settings = Settings.from_environment({**CREDENTIALS, "GENESYS_REGION": region}, env_file=None)
    assert settings.api_url == "https://api.mypurecloud.ie"
    assert settings.login_url == "https://login.mypurecloud.ie"


def test_every_sdk_region_has_an_aws_spelling():
    assert region_domain("ap-southeast-2") == "mypurecloud.com.au"
    assert region_domain("us_east_1") == "mypurecloud.com"
    assert region_domain("new1.pure.cloud") == "new1.pure.cloud"  # a region newer than this table still works


def test_an_unknown_region_lists_the_known_ones():
    with pytest.raises(ConfigurationError, match="unknown Genesys Cloud region 'mars'.*mypurecloud.ie"):
        region_domain("mars")


def test_missing_credentials_are_named():
    with pytest.raises(ConfigurationError, match="GENESYS_CLIENT_SECRET and GENESYS_REGION not set"):
        Settings.from_environment({"GENESYS_CLIENT_ID": "id"}, env_file=None)


def test_url_overrides_are_given_in_pairs():
    """The login host receives the client secret: it is never guessed from the API URL or the region."""
    settings = Settings.from_environment({**CREDENTIALS, "GENESYS_REGION": "eu-west-1",
                                          "GENESYS_API_URL": "https://api.proxy.example/",
                                          "GENESYS_LOGIN_URL": "https://login.proxy.example"}, env_file=None)
    assert (settings.api_url, settings.login_url) == ("https://api.proxy.example", "https://login.proxy.example")
    for given, missing in (("GENESYS_API_URL", "GENESYS_LOGIN_URL"), ("GENESYS_LOGIN_URL", "GENESYS_API_URL")):
        for region in ({"GENESYS_REGION": "eu-west-1"}, {}):
            with pytest.raises(ConfigurationError, match=f"{given} is set but {missing} is not: set both"):
                Settings.from_environment({**CREDENTIALS, **region, given: "https://proxy.example"}, env_file=None)


@pytest.mark.parametrize("url", ["proxy.example", "ftp://proxy.example", "https://"])
def test_an_override_must_be_an_http_url(url):
    with pytest.raises(ConfigurationError, match="GENESYS_API_URL=.* is not an http"):
        Settings.from_environment({**CREDENTIALS, "GENESYS_API_URL": url, "GENESYS_LOGIN_URL": "http://127.0.0.1:9"},
                                  env_file=None)


def test_a_dotenv_file_fills_in_what_the_environment_does_not_set(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text('# my org\nexport GENESYS_CLIENT_ID=from-file\nGENESYS_CLIENT_SECRET="quoted # not a comment"\n'
                        "GENESYS_REGION=mypurecloud.de  # Frankfurt\n\nGENESYS_MAX_RETRY_AFTER=60\n")
    settings = Settings.from_environment({"GENESYS_CLIENT_ID": "from-environment"}, env_file=env_file)
    assert settings.client_id == "from-environment"
    assert settings.client_secret.reveal() == "quoted # not a comment"
    assert settings.api_url == "https://api.mypurecloud.de"
    assert settings.max_retry_after == 60.0


def test_a_malformed_dotenv_line_is_reported_with_its_number(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("GENESYS_CLIENT_ID=x\nthis is not a setting\n")
    with pytest.raises(ConfigurationError, match=r"\.env:2: not a KEY=value line"):
        read_dotenv(env_file)


def test_a_numeric_setting_must_be_a_number():
    with pytest.raises(ConfigurationError, match="GENESYS_MAX_RETRIES='many' is not a number"):
        Settings.from_environment({**CREDENTIALS, "GENESYS_REGION": "eu-west-1", "GENESYS_MAX_RETRIES": "many"},
                                  env_file=None)


def test_the_secret_never_shows_in_text():
    settings = Settings.from_environment({**CREDENTIALS, "GENESYS_REGION": "eu-west-1"}, env_file=None)
    for text in (repr(settings), str(settings), f"{settings.client_secret}", repr([settings.client_secret])):
        assert "s3cret" not in text
    assert settings.client_secret == Secret("s3cret")


@pytest.mark.parametrize("variable, value, words", [
    ("GENESYS_REQUESTS_PER_MINUTE", "0", "must be more than 0"),
    ("GENESYS_READ_TIMEOUT", "0", "must be more than 0"),
    ("GENESYS_CONNECT_TIMEOUT", "-1", "must be more than 0"),
    ("GENESYS_MAX_RETRIES", "-1", "must be 0 or more"),
    ("GENESYS_MAX_RATE_LIMIT_WAITS", "-3", "must be 0 or more"),
    ("GENESYS_MAX_RETRY_AFTER", "nan", "is not a finite number"),
    ("GENESYS_BACKOFF_BASE", "inf", "is not a finite number"),
    ("GENESYS_TOKEN_RENEW_MARGIN", "-5", "must be 0 or more"),
    ("GENESYS_MAX_RETRIES", "2.5", "is not a whole number"),
])
def test_a_setting_out_of_range_is_a_configuration_error_naming_it(variable, value, words):
    with pytest.raises(ConfigurationError, match=f"{variable}={value!r} {words}"):
        Settings.from_environment({**CREDENTIALS, "GENESYS_REGION": "eu-west-1", variable: value}, env_file=None)
