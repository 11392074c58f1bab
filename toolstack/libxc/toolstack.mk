# toolstack/libxc/toolstack.mk - the dom0 toolstack's domain
# builder and libxenctrl-style library, for the dom0 kernel to link:
# GUEST_TOOLSTACK_SRCS lists the .c files (guest.mk does not include this
# fragment yet: the dom0 kernel's owner adds it to dom0's sources).
GUEST_TOOLSTACK_SRCS := toolstack/libxc/ctrl.c toolstack/libxc/build.c \
                        hv/shared/pv_build.c hv/shared/elf.c hv/shared/hypercall_page.c
