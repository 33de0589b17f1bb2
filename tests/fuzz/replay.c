// SPDX-License-Identifier: BSD-3-Clause
/*
 * A main() for libFuzzer targets that any compiler can build: it feeds
 * every file of the given corpus directories (or files) to
 * LLVMFuzzerTestOneInput, then a deterministic stream of pseudo-random
 * inputs, most of them mutations of the corpus (bit flips, inserted and
 * deleted bytes, repeated chunks, splices of two entries), some plain
 * random bytes. It finds less than libFuzzer does, but it runs in every
 * `make test`, under the sanitizers, with gcc, in a second or two, so a
 * target that crashes on its own seeds or on shallow mutations never lands.
 *
 *   fuzz_NAME_replay [-n COUNT] [-s SEED] [-m MAXLEN] [-v] DIR|FILE...
 *
 * A crash prints the input that caused it (hex) before it runs, with -v,
 * and the failing input can be written to a file with -o PATH for replay.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WEIR_MIN_SZ(a, b) ((size_t)(a) < (size_t)(b) ? (size_t)(a) : (size_t)(b))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target, as in libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

struct input {
	uint8_t *data;
	size_t len;
};

static struct input *corpus;
static size_t ncorpus, capcorpus;
static const char *save_path; /* -o: each input is written here first */
static int verbose;

static int add_input(uint8_t *data, size_t len)
{
	if (ncorpus == capcorpus) {
		size_t cap = capcorpus ? capcorpus * 2 : 64;
		struct input *n = realloc(corpus, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		corpus = n;
		capcorpus = cap;
	}
	corpus[ncorpus++] = (struct input){data, len};
	return 0;
}

static int load_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return -errno;
	do {
		if (len == cap) {
			uint8_t *b = realloc(buf, cap = cap ? cap * 2 : 4096);

			if (!b) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = b;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	return add_input(buf, len);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files of a directory in name order, so runs are reproducible. */
static int load_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int err = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_name[0] == '.' || stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		char **nn = realloc(names, (n + 1) * sizeof(*names));

		if (!nn || !(nn[n] = strdup(path))) {
			names = nn ? nn : names;
			err = -ENOMEM;
			break;
		}
		names = nn;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		if (!err)
			err = load_file(names[i]);
		free(names[i]);
	}
	free(names);
	return err;
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic, fast, good enough to pick mutations. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

/* Builds the next pseudo-random input into buf (maxlen bytes). */
static size_t make_input(uint8_t *buf, size_t maxlen)
{
	size_t len = 0;

	if (!ncorpus || below(4) == 0) {
		len = below(maxlen + 1);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)(below(4) ? 0x20 + below(0x5f) : rnd());
		return len;
	}
	const struct input *in = &corpus[below(ncorpus)];

	len = WEIR_MIN_SZ(in->len, maxlen);
	memcpy(buf, in->data, len);
	for (size_t m = 1 + below(4); m; m--) {
		size_t pos = below(len + 1);

		switch (below(6)) {
		case 0: /* flip a bit */
			if (len)
				buf[below(len)] ^= (uint8_t)(1u << below(8));
			break;
		case 1: /* replace a byte */
			if (len)
				buf[below(len)] = (uint8_t)rnd();
			break;
		case 2: /* insert a byte */
			if (len < maxlen) {
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = (uint8_t)(below(2) ? 0x20 + below(0x5f) : rnd());
				len++;
			}
			break;
		case 3: /* delete a run */
			if (pos < len) {
				size_t n = 1 + below(len - pos);

				memmove(buf + pos, buf + pos + n, len - pos - n);
				len -= n;
			}
			break;
		case 4: /* repeat a chunk of itself */
			if (len && len < maxlen) {
				size_t from = below(len), n = 1 + below(len - from);

				n = WEIR_MIN_SZ(n, maxlen - len);
				memmove(buf + pos + n, buf + pos, len - pos);
				memmove(buf + pos, buf + from + (from >= pos ? n : 0), n);
				len += n;
			}
			break;
		default: { /* splice: our head, another entry's tail */
			const struct input *o = &corpus[below(ncorpus)];
			size_t from = below(o->len + 1), n = WEIR_MIN_SZ(o->len - from, maxlen - pos);

			memcpy(buf + pos, o->data + from, n);
			len = pos + n;
			break;
		}
		}
	}
	return len;
}

static void run_one(const uint8_t *data, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	if (save_path) {
		FILE *f = fopen(save_path, "wb");

		if (f) {
			fwrite(data, 1, len, f);
			fclose(f);
		}
	}
	if (verbose) {
		fprintf(stderr, "input %zu bytes:", len);
		for (size_t i = 0; i < len; i++)
			fprintf(stderr, " %02x", data[i]);
		fputc('\n', stderr);
	}
	/* An exact-size heap copy, so ASan sees reads past the end. */
	if (!copy)
		abort();
	memcpy(copy, data, len);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
}

int main(int argc, char **argv)
{
	unsigned long count = 2000, maxlen = 256;
	unsigned long long seed = 1;
	uint8_t *buf;
	int opt;

	while ((opt = getopt(argc, argv, "n:s:m:o:v")) != -1) {
		switch (opt) {
		case 'n': count = strtoul(optarg, NULL, 0); break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'm': maxlen = strtoul(optarg, NULL, 0); break;
		case 'o': save_path = optarg; break;
		case 'v': verbose = 1; break;
		default:
			fprintf(stderr, "usage: %s [-n COUNT] [-s SEED] [-m MAXLEN] [-o FILE] [-v] "
					"DIR|FILE...\n", argv[0]);
			return 2;
		}
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = optind; i < argc; i++) {
		struct stat st;
		int err;

		if (stat(argv[i], &st)) {
			fprintf(stderr, "%s: %s: %s\n", argv[0], argv[i], strerror(errno));
			return 1;
		}
		err = S_ISDIR(st.st_mode) ? load_dir(argv[i]) : load_file(argv[i]);
		if (err) {
			fprintf(stderr, "%s: %s: %s\n", argv[0], argv[i], strerror(-err));
			return 1;
		}
	}
	for (size_t i = 0; i < ncorpus; i++)
		run_one(corpus[i].data, corpus[i].len);
	buf = malloc(maxlen + 1);
	if (!buf)
		return 1;
	rng_state = seed ? seed : 1;
	for (unsigned long i = 0; i < count; i++)
		run_one(buf, make_input(buf, maxlen));
	printf("%s: %zu corpus inputs and %lu generated (seed %llu, max %lu bytes): ok\n",
	       argv[0], ncorpus, count, seed, maxlen);
	free(buf);
	for (size_t i = 0; i < ncorpus; i++)
		free(corpus[i].data);
	free(corpus);
	return 0;
}
