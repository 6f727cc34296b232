/* error.c: texts for sg_err. */
#include "scatter/error.h"

const char *sg_strerror(sg_err err)
{
	switch (err) {
	case SG_OK:
		return "ok";
	case SG_EINVAL:
		return "invalid argument";
	case SG_ENOMEM:
		return "out of memory";
	case SG_EEXIST:
		return "already exists";
	case SG_ENOENT:
		return "not found";
	case SG_ESTATE:
		return "not allowed in the current state";
	case SG_EBIND:
		return "cannot bind the listen address";
	case SG_EGRPC:
		return "gRPC call failed";
	case SG_EDECODE:
		return "message does not decode";
	case SG_EENCODE:
		return "message does not encode";
	case SG_ECONFIG:
		return "configuration does not fit";
	case SG_ESYS:
		return "system call failed";
	}
	return "unknown error";
}
