/* Compiled and linked by packaging_test.sh with only `pkg-config --cflags --libs scatter`:
 * the public headers, the installed generated options header and both libraries resolve. */
#include <stdio.h>

#include <scatter/options.pb-c.h>
#include <scatter/scatter.h>

int main(void)
{
	sg_client *c = NULL;
	sg_err rv = sg_client_open("127.0.0.1:1", &c); /* no connection is made until a call */

	if (rv != SG_OK) {
		fprintf(stderr, "pkgconfig_main: sg_client_open: %s\n", sg_strerror(rv));
		return 1;
	}
	sg_client_close(c);
	printf("pkg-config: linked libscatter; %s has %u fields\n",
	       scatter__fanout__descriptor.name, scatter__fanout__descriptor.n_fields);
	return 0;
}
