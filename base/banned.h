/* banned: functions that invite overflows or shell injection (git's idea). */
#ifndef MYDOCKER_BASE_BANNED_H
#define MYDOCKER_BASE_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_use_a_safer_alternative

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(x) BANNED(gets)
#undef system
#define system(x) BANNED(system)
#undef popen
#define popen(x, y) BANNED(popen)

#endif
