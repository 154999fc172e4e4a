/* blob: mydocker-monitor embedded in the main binary (cmd/monitor.c
 * writes it to a sealed memfd and execs that), so that mydocker stays one
 * file and the monitor always matches it. MONITOR_BIN: the path, from
 * the Makefile. */
	.section .rodata
	.balign 16
	.globl mydocker_monitor_bin
	.type mydocker_monitor_bin, @object
mydocker_monitor_bin:
	.incbin MONITOR_BIN
	.globl mydocker_monitor_bin_end
mydocker_monitor_bin_end:
	.section .note.GNU-stack,"",@progbits
