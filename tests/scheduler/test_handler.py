import json

from sched.scheduler import handler
from sched.scheduler.request import Request


def test_host_misc_is_the_json_boinc_writes():
    # written without the json module (a CGI scheduler doesn't import it); same text
    for name in ("7.20.5", 'q"uote\\', "tab\tnl\n", "é☃😀\x7f\x01"):
        req = Request(core_client_major_version=7)
        req.host = {"virtualbox_version": name, "p_features": "sse vmx",
                    "p_vm_extensions_disabled": False, "docker_version": name[::-1],
                    "docker_type": 2}
        expected = {"client_version": req.client_version_string,
                    "vbox": {"version": name, "hw_accel": True, "hw_accel_enabled": True},
                    "docker": {"version": name[::-1], "type": 2}}
        assert handler._host_misc_text(req) == json.dumps(expected, indent=4)
    req = Request()
    assert handler._host_misc_text(req) == json.dumps({"client_version": "0.0.0"}, indent=4)
