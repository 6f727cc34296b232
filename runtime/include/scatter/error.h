/*
 * scatter/error.h: libscatter's error codes.
 *
 * Functions that can fail return sg_err and write results through out-parameters. The numbers
 * are fixed and never reused: they may be logged and compared across versions.
 */
#ifndef SCATTER_ERROR_H
#define SCATTER_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sg_err {
	SG_OK = 0,
	SG_EINVAL = 1,   /* an argument is wrong (NULL, out of range, malformed) */
	SG_ENOMEM = 2,   /* out of memory */
	SG_EEXIST = 3,   /* already registered / already set */
	SG_ENOENT = 4,   /* no such method, group or field */
	SG_ESTATE = 5,   /* not allowed in the object's current state (e.g. after start) */
	SG_EBIND = 6,    /* the listen address could not be bound */
	SG_EGRPC = 7,    /* the gRPC call ended with a non-OK status; see sg_call_result */
	SG_EDECODE = 8,  /* bytes that do not decode as the expected message */
	SG_EENCODE = 9,  /* a message that could not be encoded */
	SG_ECONFIG = 10, /* a method table or configuration that does not fit */
	SG_ESYS = 11,    /* an operating-system call failed (errno is kept where useful) */
} sg_err;

/* A static, human-readable text for err ("invalid argument", ...); never NULL. */
const char *sg_strerror(sg_err err);

#ifdef __cplusplus
}
#endif

#endif
