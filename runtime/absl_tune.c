/*
 * absl_tune.c: turns off abseil's mutex deadlock detection, which Debian's abseil leaves on.
 *
 * abseil enables its deadlock detector (a lock-order graph updated on every Mutex::Lock) unless
 * it is built with NDEBUG; Debian's libabsl is built without it, so every lock the gRPC core
 * takes pays for the graph: ~5% of an aggregator's CPU under load (GraphCycles in a profile).
 * Release builds of abseil, and gRPC's own bundled one, run with it off; this restores that.
 *
 * abseil's switch is a C++ function, absl::SetMutexDeadlockDetectionMode(OnDeadlockCycle),
 * whose mangled name carries abseil's inline namespace ("debian3" on Debian 12). The build
 * reads that name from the installed library (runtime/CMakeLists.txt) and passes it here as
 * SG_ABSL_DEADLOCK_MODE_SYM; the function is looked up at run time, so a build or a library
 * without it only loses the optimisation. SCATTER_ABSL_DEADLOCK_DETECTION=1 keeps the detector
 * on, for whoever debugs lock order inside the gRPC core.
 */
#include "absl_tune.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* absl::OnDeadlockCycle::kIgnore: the enumerators are kIgnore, kReport, kAbort, in order. */
#define ABSL_ON_DEADLOCK_CYCLE_IGNORE 0

static pthread_once_t absl_once = PTHREAD_ONCE_INIT;
static bool absl_done;

static void absl_tune_once(void)
{
#ifdef SG_ABSL_DEADLOCK_MODE_SYM
	const char *keep = getenv("SCATTER_ABSL_DEADLOCK_DETECTION");
	void (*set_mode)(int);
	void *sym;

	if (keep != NULL && strcmp(keep, "1") == 0)
		return;
	if ((sym = dlsym(RTLD_DEFAULT, SG_ABSL_DEADLOCK_MODE_SYM)) == NULL)
		return;
	/* POSIX allows converting dlsym's object pointer to a function pointer this way. */
	memcpy(&set_mode, &sym, sizeof(set_mode));
	set_mode(ABSL_ON_DEADLOCK_CYCLE_IGNORE);
	absl_done = true;
#endif
}

bool sg__absl_tune(void)
{
	pthread_once(&absl_once, absl_tune_once);
	return absl_done;
}
