"""Plan classes: may this host run an app version, and how (CPUs, FLOPS)?

With ``PROJECT/plan_class_spec.xml`` present it is authoritative, as in
BOINC; otherwise the built-in classes apply.  CPU classes are supported
(``mt``, ``sse3`` ..., and spec entries with CPU conditions); a GPU class
(``<gpu_type>`` in a spec, or a built-in GPU name) is refused for now with
a log line, since no host here reports usable GPUs to us.
"""

import os

from ..xmlutil import XMLError, parse_bool, parse_file, strtol

_spec_cache = {}     # path -> (mtime, specs or None)
_GPU_BUILTINS = ("cuda", "nvidia", "ati", "amd", "opencl", "intel_gpu", "apple_gpu", "vbox")


def _gpu_builtin(plan_class):
    return any(name in plan_class for name in _GPU_BUILTINS)


def _load_specs(path):
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None, False
    cached = _spec_cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1], True
    try:
        root = parse_file(path)
        specs = {}
        for elem in root.iter("plan_class"):
            spec = {}
            for child in elem:
                if not isinstance(child.tag, str):
                    continue
                if child.tag in ("nthreads_cmdline", "is64bit"):
                    spec[child.tag] = parse_bool(child)
                elif child.tag == "cpu_feature":
                    spec.setdefault("cpu_feature", []).append((child.text or "").strip())
                else:
                    spec[child.tag] = (child.text or "").strip()
            if spec.get("name"):
                specs[spec["name"]] = spec
    except (XMLError, ValueError):
        specs = None            # a broken file refuses every plan-class version
    _spec_cache[path] = (mtime, specs)
    return specs, True


def host_fpops(ctx):
    f = ctx.host.get("p_fpops") or 0.0
    return f if f > 0 else 1e9


def host_usage(ctx, plan_class, ncpus):
    """A dict (avg_ncpus, projected_flops, peak_flops, cmdline) or None if unusable."""
    fpops = host_fpops(ctx)
    if not plan_class:
        return dict(avg_ncpus=1.0, projected_flops=fpops, peak_flops=fpops, cmdline="")
    specs, have_file = _load_specs(ctx.cfg.project_path("plan_class_spec.xml"))
    if have_file:
        if specs is None:
            ctx.log.critical("Can't parse plan class spec file; refusing plan class %s",
                             plan_class)
            return None
        spec = specs.get(plan_class)
        if spec is None:
            ctx.log.critical("Unknown plan class: %s", plan_class)
            return None
        return _from_spec(ctx, spec, ncpus, fpops)
    if not ctx.req.client_cap_plan_class and plan_class != "sse3":
        return None
    if plan_class == "mt":
        if ncpus < 2:
            return None
        n = min(int(ncpus), 64)
        return dict(avg_ncpus=float(n), projected_flops=fpops * n * .99, peak_flops=fpops * n,
                    cmdline="--nthreads %d" % n)
    if plan_class == "sse3":
        features = ctx.req.host.get("p_features", "").split()
        if "sse3" not in features and "pni" not in features:
            return None
        return dict(avg_ncpus=1.0, projected_flops=fpops * 1.1, peak_flops=fpops, cmdline="")
    if _gpu_builtin(plan_class):
        if ctx.cfg.debug_version_select:
            ctx.log.normal("[version] plan class %s needs a GPU or VM: not offered", plan_class)
        return None
    ctx.log.critical("Unknown plan class: %s", plan_class)
    return None


def _num(spec, key, default=0.0):
    try:
        return float(spec.get(key, default) or default)
    except ValueError:
        return default


def _from_spec(ctx, spec, ncpus, fpops):
    req, host = ctx.req, ctx.req.host
    if spec.get("gpu_type") or spec.get("virtualbox") or spec.get("docker"):
        if ctx.cfg.debug_version_select:
            ctx.log.normal("[version] plan class %s needs a GPU or VM: not offered", spec["name"])
        return None
    v = req.core_client_version
    if spec.get("min_core_client_version") and v < strtol(spec["min_core_client_version"]):
        return None
    if spec.get("max_core_client_version") and v > strtol(spec["max_core_client_version"]):
        return None
    if spec.get("user_id") and strtol(spec["user_id"]) != ctx.user["id"]:
        return None
    if _num(spec, "infeasible_random"):
        import random
        if random.random() < _num(spec, "infeasible_random"):
            return None
    features = set(host.get("p_features", "").lower().split())
    if any(f.lower() not in features for f in spec.get("cpu_feature", [])):
        return None
    if _num(spec, "min_ncpus") and ncpus < _num(spec, "min_ncpus"):
        return None
    for key, field in (("os_regex", "os_version"), ("cpu_vendor_regex", "p_vendor"),
                       ("cpu_model_regex", "p_model")):
        if spec.get(key):
            import re       # only for a spec that has regexes (a CGI process pays for re)
            if not re.search(spec[key], host.get(field, "")):
                return None
    if "is64bit" in spec:
        platform64 = any("64" in p for p in req.platforms)
        if spec["is64bit"] != platform64:
            return None
    avg = 1.0
    cmdline = ""
    max_threads = int(_num(spec, "max_threads"))
    if max_threads > 1:
        avg = float(min(int(ncpus), max_threads))
        if spec.get("nthreads_cmdline"):
            cmdline = "--nthreads %d" % int(avg)
    elif _num(spec, "avg_ncpus"):
        avg = _num(spec, "avg_ncpus")
    scale = _num(spec, "projected_flops_scale", 1.0) or 1.0
    return dict(avg_ncpus=avg, projected_flops=fpops * avg * scale, peak_flops=fpops * avg,
                cmdline=cmdline)


BUILTIN_CPU_CLASSES = ("mt", "sse3")


def known_plan_class(cfg, name):
    """Would the scheduler recognise plan class ``name`` (or log 'Unknown plan class')?

    The same rule as :func:`host_usage`: with ``plan_class_spec.xml`` present
    only its names count (an unparseable file knows none); without it the
    built-in CPU classes and the GPU/VM names.  '' (no plan class) is known.
    """
    if not name:
        return True
    specs, have_file = _load_specs(cfg.project_path("plan_class_spec.xml"))
    if have_file:
        return specs is not None and name in specs
    return name in BUILTIN_CPU_CLASSES or _gpu_builtin(name)
