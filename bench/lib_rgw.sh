# lib_rgw.sh: sourced by the bench scripts that keep blobs in S3.
#
#   rgw_start DIR  the RADOS Gateway named by CUSTOMS_S3_ENV (the env file
#                  of a running one, `ceph_rgw start`), or one of its own
#                  under DIR/ceph (tests/integration/ceph_rgw); sets and
#                  exports S3_ENDPOINT S3_REGION S3_BUCKET and the AWS_*
#                  credentials
#   rgw_stop       stops the one rgw_start started, if any (never fails)

RGW_DIR=
RGW_CMD=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/integration/ceph_rgw

rgw_start() {
	if [ -n "${CUSTOMS_S3_ENV:-}" ] && [ -s "$CUSTOMS_S3_ENV" ]; then
		. "$CUSTOMS_S3_ENV"
	else
		RGW_DIR=$1/ceph
		"$RGW_CMD" start "$RGW_DIR" >"$1/s3.env"
		. "$1/s3.env"
	fi
	export S3_ENDPOINT S3_REGION S3_BUCKET AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
}

rgw_stop() {
	[ -z "$RGW_DIR" ] || "$RGW_CMD" stop "$RGW_DIR" || true
	RGW_DIR=
}
