/* names: private to storage/. Container and volume name rules and
 * Docker-style generated names. */
#ifndef MYDOCKER_STORAGE_NAMES_H
#define MYDOCKER_STORAGE_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* Docker's rule for container and local volume names:
 * ^[a-zA-Z0-9][a-zA-Z0-9_.-]+$ (so at least two characters). */
bool storage_name_is_valid(const char *name);
/* "adjective_surname" into buf; retry > 0 appends a digit, as Docker does
 * after a collision. Returns 0, or -1 if buf is too small. */
int storage_name_generate(char *buf, size_t len, int retry);
/* 64 lowercase hex chars from getrandom(2) into id[65]. */
int storage_random_id(char id[65]);

#endif
