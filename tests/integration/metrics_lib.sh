# metrics_lib.sh: sourced (after lib.sh) by tests/integration/t_metrics*.sh.
#
#   scrape [curl args]   GET /metrics (of $URL) into $B, parsed with
#                        prometheus_client's parser (the format Prometheus
#                        reads): histogram buckets cumulative, _count equal
#                        to the +Inf bucket, every family with HELP and
#                        TYPE; prints "name{labels} value" lines
#   metric NAME{LABELS}  its value in $TMP/samples (0 if absent), labels
#                        sorted: customs_x_total{kind=a,result=b}

# Debian's python3-prometheus-client is for the system's python3.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c 'import prometheus_client.parser' 2>/dev/null ||
	skip "python3-prometheus-client is not installed"

scrape() {
	req GET /metrics "$@"
	expect 200
	case "$(hdr Content-Type)" in
	text/plain\;\ version=0.0.4*) ;;
	*) fail "Content-Type: $(hdr Content-Type)" ;;
	esac
	"$PY" - "$B" <<'PY' || fail "parser: $(head -c 300 "$B")"
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = list(text_string_to_metric_families(open(sys.argv[1]).read()))
for f in fams:
    assert f.type != "unknown", ("no TYPE", f.name)
    assert f.documentation, ("no HELP", f.name)
    # The parser takes _total off a counter family's name.
    if f.type == "counter":
        assert all(s.name == f.name + "_total" for s in f.samples), \
            ("counter without _total", f.name)
    if f.type == "histogram":
        groups = {}
        for s in f.samples:
            key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            groups.setdefault(key, []).append(s)
        for key, ss in groups.items():
            buckets = [s.value for s in ss if s.name.endswith("_bucket")]
            inf = [s.value for s in ss
                   if s.name.endswith("_bucket") and s.labels["le"] == "+Inf"]
            count = [s.value for s in ss if s.name.endswith("_count")]
            assert buckets == sorted(buckets), (f.name, key, buckets)
            assert inf and count and inf[0] == count[0], (f.name, key)
    for s in f.samples:
        lab = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
        v = s.value
        print("%s{%s} %s" % (s.name, lab, int(v) if v == int(v) else v))
PY
}

metric() {
	awk -v k="$1" '$1 == k { print $2; f = 1 } END { if (!f) print 0 }' \
		"$TMP/samples"
}

