# rt_harness: a test-only driver of runtime_run (tests/integration/runtime.bats
# runs it against a busybox rootfs). Included by the top-level Makefile;
# built beside the unit tests, but not named test_* so run.sh does not run it.
# Linked from an archive of the base/ and runtime/ objects, so only what
# runtime_run needs is pulled in (never image/ or storage/ code).
RT_HARNESS_OBJ = $(filter $(B)/base/% $(B)/runtime/%,$(OBJ_LIB))

$(B)/tests/rt_harness.a: $(RT_HARNESS_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/tests/rt_harness: tests/rt_harness.c $(B)/tests/rt_harness.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARDEN) $(ALL_LDFLAGS) -o $@ $< $(B)/tests/rt_harness.a $(PKG_LIBS)

unit-bins: $(B)/tests/rt_harness
