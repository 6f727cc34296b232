/* gather_test.c: the gather strategies' ops tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gather.h"

static void test_all_waits_for_every_leg(void **state)
{
	(void)state;
	const sg__gather_ops *ops = sg__gather_ops_for(SG_GATHER_ALL);
	assert_non_null(ops);
	assert_string_equal(ops->name, "all");
}

static void test_unknown_kind(void **state)
{
	(void)state;
	assert_null(sg__gather_ops_for((sg_gather_kind)999));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_all_waits_for_every_leg),
	        cmocka_unit_test(test_unknown_kind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
