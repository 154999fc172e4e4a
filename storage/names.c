/* names: container/volume name validation, generated names, random ids. */
#include "storage/names.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "base/banned.h"

/* A few dozen of each, in the spirit of Docker's namesgenerator. */
static const char *const adjectives[] = {
	"admiring",    "adoring",    "affectionate", "agitated",      "amazing",   "angry",
	"awesome",     "beautiful",  "blissful",     "bold",          "boring",    "brave",
	"busy",        "charming",   "clever",       "compassionate", "competent", "condescending",
	"confident",   "cool",       "cranky",       "crazy",         "dazzling",  "determined",
	"distracted",  "dreamy",     "eager",        "ecstatic",      "elastic",   "elated",
	"elegant",     "eloquent",   "epic",         "exciting",      "fervent",   "festive",
	"flamboyant",  "focused",    "friendly",     "frosty",        "funny",     "gallant",
	"gifted",      "goofy",      "gracious",     "great",         "happy",     "hardcore",
	"heuristic",   "hopeful",    "hungry",       "infallible",    "inspiring", "intelligent",
	"interesting", "jolly",      "jovial",       "keen",          "kind",      "laughing",
	"loving",      "lucid",      "magical",      "modest",        "musing",    "mystifying",
	"naughty",     "nervous",    "nice",         "nifty",         "nostalgic", "objective",
	"optimistic",  "peaceful",   "pedantic",     "pensive",       "practical", "priceless",
	"quirky",      "quizzical",  "relaxed",      "reverent",      "romantic",  "sad",
	"serene",      "sharp",      "silly",        "sleepy",        "stoic",     "strange",
	"stupefied",   "suspicious", "sweet",        "tender",        "thirsty",   "trusting",
	"upbeat",      "vibrant",    "vigilant",     "vigorous",      "wizardly",  "wonderful",
	"xenodochial", "youthful",   "zealous",      "zen",
};

static const char *const surnames[] = {
	"agnesi",   "albattani",     "allen",     "archimedes", "babbage",      "banach",
	"bardeen",  "bartik",        "bell",      "bhabha",     "blackwell",    "bohr",
	"booth",    "borg",          "bose",      "brattain",   "brown",        "carson",
	"cerf",     "chandrasekhar", "curie",     "darwin",     "davinci",      "dijkstra",
	"edison",   "einstein",      "elion",     "engelbart",  "euclid",       "euler",
	"fermat",   "fermi",         "feynman",   "franklin",   "galileo",      "gauss",
	"goldberg", "goodall",       "hamilton",  "hawking",    "heisenberg",   "hodgkin",
	"hopper",   "hypatia",       "jackson",   "jang",       "johnson",      "kalam",
	"kepler",   "khorana",       "knuth",     "kowalevski", "lamarr",       "lamport",
	"leakey",   "lovelace",      "lumiere",   "mayer",      "mccarthy",     "mclean",
	"meitner",  "mendel",        "morse",     "newton",     "nobel",        "noether",
	"pascal",   "pasteur",       "payne",     "perlman",    "pike",         "poincare",
	"ptolemy",  "raman",         "ramanujan", "ride",       "ritchie",      "rosalind",
	"sammet",   "shannon",       "shockley",  "sinoussi",   "stallman",     "swanson",
	"tesla",    "thompson",      "torvalds",  "turing",     "varahamihira", "visvesvaraya",
	"volhard",  "wescoff",       "wiles",     "williams",   "wilson",       "wing",
	"wozniak",  "wright",        "yalow",     "yonath",
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static bool name_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '_' || c == '.' || c == '-');
}

bool storage_name_is_valid(const char *name)
{
	if (!name || !name[0] || !name[1])
		return false;
	for (size_t i = 0; name[i]; i++)
		if (!name_char(name[i], i == 0))
			return false;
	return true;
}

static uint32_t random_below(uint32_t n)
{
	uint32_t v = 0;

	/* getrandom(2) of 4 bytes never blocks once the pool is ready and is
	 * never short; the modulo bias over ~100 entries is irrelevant here. */
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
	return v % n;
}

int storage_name_generate(char *buf, size_t len, int retry)
{
	const char *a = adjectives[random_below(N_ELEMS(adjectives))];
	const char *b = surnames[random_below(N_ELEMS(surnames))];
	int n;

	/* Docker's one exception: Steve Wozniak is not boring. */
	while (strcmp(a, "boring") == 0 && strcmp(b, "wozniak") == 0)
		b = surnames[random_below(N_ELEMS(surnames))];
	if (retry > 0)
		n = snprintf(buf, len, "%s_%s%u", a, b, (unsigned)random_below(10));
	else
		n = snprintf(buf, len, "%s_%s", a, b);
	return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

int storage_random_id(char id[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[32];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		id[2 * i] = hex[raw[i] >> 4];
		id[2 * i + 1] = hex[raw[i] & 15];
	}
	id[64] = '\0';
	return 0;
}
