# rt_harness: a test-only driver of runtime_run (tests/integration/runtime.bats
# runs it against a busybox rootfs). Included by the top-level Makefile;
# built beside the unit tests, but not named test_* so run.sh does not run it.
# Linked with base/ and runtime/ only: the runtime must not need the rest.
RT_HARNESS_OBJ = $(filter $(B)/base/% $(B)/runtime/%,$(OBJ_LIB))

$(B)/tests/rt_harness: tests/rt_harness.c $(RT_HARNESS_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARDEN) $(ALL_LDFLAGS) -o $@ $< $(RT_HARNESS_OBJ) $(PKG_LIBS)

unit-bins: $(B)/tests/rt_harness
