# tests/unit/uart16550.mk - the device model's 16550A (toolstack/dom0svc/uart16550.c).
UNIT_TESTS += uart16550
UNIT_SRCS_uart16550 := toolstack/dom0svc/uart16550.c
