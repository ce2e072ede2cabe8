"""aws_config and aws_ca_bundle through ansible-playbook, on both execution paths.

A private CA signs the certificate of an HTTPS endpoint in front of the AWS stand-in, and a
forward proxy that needs a password stands between the module and the server: what a user
behind a corporate proxy meets.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import aws_state
import pytest
from front_servers import auth_proxy, make_certificates, tls_front

PLAYBOOK = Path(__file__).parent / "playbooks" / "connection_options.yml"
PROXY_USER, PROXY_PASSWORD = "alice", "Pr0xy-pa55word"
TRUST_EC2 = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@pytest.mark.both_paths
def test_aws_config_and_ca_bundle_reach_botocore(run_playbook, aws, tmp_path):
    certificates = make_certificates(tmp_path / "tls")
    results_file = tmp_path / "results.json"
    with (
        tls_front(urlsplit(aws.url).port, certificates) as https_endpoint,
        auth_proxy(PROXY_USER, PROXY_PASSWORD) as (proxy, proxy_log),
    ):
        proxy_url = proxy.replace("http://", f"http://{PROXY_USER}:{PROXY_PASSWORD}@")
        extra_vars = {
            "results_file": str(results_file),
            "https_endpoint": https_endpoint,
            "ca_bundle": str(certificates.ca),
            "proxy_url": proxy_url,
        }
        # -vvv: the callback prints each result with its invocation (the task's arguments), which
        # ansible-core 2.21 adds to results only with INJECT_INVOCATION (2.19 always does).
        inject = {"ANSIBLE_INJECT_INVOCATION": "true"}
        result = run_playbook(PLAYBOOK, extra_vars=extra_vars, verbosity=3, env=inject)
    assert result.rc == 0, result
    results = json.loads(results_file.read_text())

    # aws_config: the role was created with it; read back from the server, not through the module.
    assert results["with_config"]["changed"] is True
    assert aws_state.world(aws.url) == {
        "roles": {"connection-options-role": aws_state.new_role(TRUST_EC2)},
        "profiles": {},
        "instances": {},
    }

    # proxies: the request went through the proxy, with its credentials, which no output shows.
    assert [role["role_name"] for role in results["via_proxy"]["roles"]] == ["connection-options-role"]
    assert proxy_log.refused == 0
    assert any(line.startswith(f"POST {aws.url}/") for line in proxy_log.forwarded), proxy_log
    assert PROXY_PASSWORD not in result.stdout + result.stderr + results_file.read_text()
    assert f"http://{PROXY_USER}:********@127.0.0.1:" in result.stdout

    # aws_ca_bundle (option or AWS_CA_BUNDLE): the private CA is trusted; without it, it is not.
    for name in ("https_with_bundle", "https_with_env_bundle"):
        assert [role["role_name"] for role in results[name]["roles"]] == ["connection-options-role"], name
    untrusted = results["https_without_bundle"]
    assert untrusted["failed"] is True
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted["msg"], untrusted

    missing = results["missing_bundle"]
    assert (missing["failed"], missing["field"]) == (True, "aws_ca_bundle")
    assert missing["msg"] == f"aws_ca_bundle: no such CA bundle file or directory: {certificates.ca}.missing"

    assert results["unknown_key"]["field"] == "aws_config.conect_timeout"
