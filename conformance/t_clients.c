/* t_clients.c: real clients (skopeo, podman, docker) against the registry.
 *
 * Each scenario is a shell script in conformance/clients/ (the clients are
 * command-line tools; driving them from C would only hide what they ran).
 * Exit 0 passes, 77 skips (last line says why), anything else fails; the
 * script's output is the test's transcript.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct_int.h"

#define CT_CLIENT_TIMEOUT "150"

/* The last non-empty line of text, in place. */
static char *last_line(char *text)
{
	char *end = text + strlen(text), *start;

	while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	start = strrchr(text, '\n');
	return start ? start + 1 : text;
}

static void child(const struct ct_cfg *c, const char *script,
		  const char *scenario, const char *log)
{
	char path[4096];
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		_exit(126);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0) {
		dup2(fd, 0);
		close(fd);
	}
	setenv("CT_URL", c->base, 1);
	setenv("CT_REGISTRY", c->hostport, 1);
	setenv("CT_NS", c->ns, 1);
	setenv("CT_NS2", c->ns2, 1);
	setenv("CT_RUN", c->run, 1);
	setenv("CT_WORK", c->work, 1);
	if (snprintf(path, sizeof(path), "%s/%s", c->clients_dir, script) >=
	    (int)sizeof(path))
		_exit(126);
	/* timeout(1) puts the scenario in a process group of its own and
	 * takes the whole group down when time is up. */
	execlp("timeout", "timeout", "--kill-after=10", CT_CLIENT_TIMEOUT,
	       "bash", path, scenario, (char *)NULL);
	fprintf(stderr, "exec timeout: %s\n", strerror(errno));
	_exit(126);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	struct sbuf b = {0};
	char chunk[4096];
	size_t n;

	if (!f)
		return ct_xstrdup("");
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sbuf_add(&b, chunk, n);
	fclose(f);
	return b.p ? b.p : ct_xstrdup("");
}

/* A scenario runs in a process group of its own (timeout's), out of reach
 * of the terminal's ^C: pass SIGINT/SIGTERM on, so its traps stop what it
 * started (dockerd), then die of the same signal. */
static volatile sig_atomic_t child_pid, got_signal;

static void forward(int sig)
{
	got_signal = sig;
	if (child_pid > 0)
		kill((pid_t)child_pid, SIGTERM);
}

static int wait_child(pid_t pid, int *status)
{
	struct sigaction sa = {0}, old_int, old_term;
	int ret = 0;

	sa.sa_handler = forward;
	sigemptyset(&sa.sa_mask);
	child_pid = pid;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR) {
			ret = -1;
			break;
		}
	}
	child_pid = 0;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (got_signal)
		raise(got_signal);
	return ret;
}

static void run_scenario(struct ct *t, const char *script, const char *scenario)
{
	const struct ct_cfg *c = ct_cfg(t);
	char *log = ct_printf(t, "%s/%s-%s.log", c->work, script, scenario);
	char *out, *why;
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	CT_CHECK(t, pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		child(c, script, scenario, log);
	CT_CHECK(t, wait_child(pid, &status) == 0, "waitpid: %s",
		 strerror(errno));
	out = ct_keep(t, read_all(log), free);
	ct_note(t, "%s", out);
	why = ct_strdup(t, last_line(ct_strdup(t, out)));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		ct_skip(t, "%s", why);
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 124)
		CT_CHECK(t, false, "timed out after %ss (log %s)",
			 CT_CLIENT_TIMEOUT, log);
	CT_CHECK(t, false, "%s (exit %d; log %s)", why,
		 WIFEXITED(status) ? WEXITSTATUS(status)
				   : 128 + WTERMSIG(status),
		 log);
}

#define SCENARIO(fn, script, name)                                             \
	static void fn(struct ct *t)                                           \
	{                                                                      \
		run_scenario(t, script, name);                                 \
	}

SCENARIO(t_skopeo_copy_image, "skopeo.sh", "copy-image")
SCENARIO(t_skopeo_copy_index, "skopeo.sh", "copy-index")
SCENARIO(t_skopeo_inspect, "skopeo.sh", "inspect")
SCENARIO(t_skopeo_list_tags, "skopeo.sh", "list-tags")
SCENARIO(t_skopeo_delete, "skopeo.sh", "delete")
SCENARIO(t_podman_push, "podman.sh", "push")
SCENARIO(t_podman_pull, "podman.sh", "pull")
SCENARIO(t_docker, "docker.sh", "push-pull")

const struct ct_test ct_client_tests[] = {
	{"clients/skopeo-copy-image",
	 "client: skopeo copy of an OCI image there and back, digests kept",
	 t_skopeo_copy_image},
	{"clients/skopeo-copy-index",
	 "client: skopeo copy --all of a two-platform index there and back",
	 t_skopeo_copy_index},
	{"clients/skopeo-inspect",
	 "client: skopeo inspect (digest, platform, --raw bytes, --config)",
	 t_skopeo_inspect},
	{"clients/skopeo-list-tags", "client: skopeo list-tags",
	 t_skopeo_list_tags},
	{"clients/skopeo-delete",
	 "client: skopeo delete, then the image is gone", t_skopeo_delete},
	{"clients/podman-push",
	 "client: podman push (vfs storage, private root), rmi, pull back: "
	 "same image ID",
	 t_podman_push},
	{"clients/podman-pull",
	 "client: podman pull of a two-platform index (--arch arm64) and of "
	 "a manifest by digest",
	 t_podman_pull},
	{"clients/docker-push-pull",
	 "client: docker CLI pull, tag, push, rmi, pull, and a platform of "
	 "an index (needs dockerd)",
	 t_docker},
	{NULL, NULL, NULL},
};
