# registry/: the /v2/ API (api*.c, route.c, parse.c, reply.c, config.c),
# `customs serve` (serve.c); in subfolders the HTTP server (http/), the
# pull-through cache (proxy/) and the scan service (scan/).  libregistry.a
# takes the subfolders' sources too (module_srcs in the Makefile).
# test_reply sees what the reply helpers hand to the HTTP layer.
UNIT_LDFLAGS_test_reply := -Wl,--wrap=http_reply_header,--wrap=http_reply_mem,--wrap=http_reply,--wrap=http_req_id,--wrap=http_req_method_name,--wrap=http_req_path,--wrap=http_req_log_note
# The web UI's assets are built into ui.o (.incbin).
$(BUILD)/registry/ui/ui.o: $(wildcard registry/ui/assets/*)
