/* data/dataset.h: labelled datasets and token corpora, their views
 * (splits) and batching.
 *
 *   A `dataset` is either a classification set: n samples of dim floats
 *   (x, row-major (n, dim)) with integer labels y in [0, nclass), plus the
 *   image geometry (width, height, channels; pixels in [0, 1], stored
 *   height-major then width then channel, as stb_image decodes them) when it
 *   came from images; or a token corpus (is_text = 1): ntok token ids in
 *   [0, vocab) with the vocabulary's characters.
 *
 *   A `data_view` is a subset of a dataset: an index array of rows for a
 *   classification set, a contiguous token range [tok_begin, tok_end) for a
 *   corpus.  Train/validation splits never copy the data, and one loaded
 *   dataset is shared read-only by every trial of a study (no function here
 *   writes to a dataset after it is built, so any number of threads may read
 *   it at once).  Views and loaders belong to one thread each.
 *
 *   Sources: Fashion-MNIST IDX files (.gz or plain, read through zlib),
 *   image folders DIR/<class>/<file> (stb_image), text files or folders of
 *   text (default: the Debian fortunes corpus), synthetic spirals and
 *   Gaussian blobs.
 *
 * Errors: every loader returns 0 or a tl_code and fills err; problems with
 * the user's files or arguments are TL_EINPUT with a message that starts
 * with the file's path; out of memory is TL_ERUNTIME.  Nothing here prints,
 * exits or asserts on input.
 *
 * data/ knows nothing of models: batches are filled into caller buffers.
 */
#ifndef TL_DATA_DATASET_H
#define TL_DATA_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/rng.h"

/* Default locations (Debian packages dataset-fashion-mnist and fortunes). */
#define DATA_FMNIST_DIR "/usr/share/datasets/fashion-mnist"
#define DATA_TEXT_DEFAULT "/usr/share/games/fortunes"

typedef struct dataset {
    int is_text;            /* 0: classification set, 1: token corpus */

    /* Classification. */
    long n;                 /* samples */
    int dim;                /* floats per sample (width*height*channels for images) */
    float *x;               /* (n, dim) */
    int *y;                 /* (n) labels in [0, nclass) */
    int nclass;
    int width, height, channels; /* image geometry, 0 when not images */
    char **class_names;     /* (nclass) strings, NULL when the set has none */

    /* Token corpus. */
    int *tokens;            /* (ntok) ids in [0, vocab) */
    long ntok;
    int vocab;              /* distinct bytes present, 1..256 */
    unsigned char chars[256]; /* id -> byte, sorted ascending; chars[0..vocab) */
    short ids[256];         /* byte -> id, -1 for bytes not in the vocabulary */

    char *source;           /* where it came from (path or generator), for messages */
} dataset;

/* ---- Loading and generating.  On success *out (or *train / *test) is a new
 * dataset owned by the caller (free with data_free); on failure nothing is
 * returned and nothing leaks. ---- */

/* Fashion-MNIST from dir (NULL: DATA_FMNIST_DIR): train-images-idx3-ubyte.gz
 * with train-labels-idx1-ubyte.gz, and t10k-* for the official test set.
 * Either of train / test may be NULL to skip that set.  Checks magic
 * numbers, dimensions, that image and label counts match, labels in [0, 10),
 * truncated or trailing data.  Fills class_names with the ten article names.
 * Returns 0, TL_EINPUT (message names the file) or TL_ERUNTIME (memory). */
int data_load_fmnist(const char *dir, dataset **train, dataset **test, tl_err *err);

/* One IDX pair: images (magic 0x00000803, u8, n x rows x cols) and labels
 * (magic 0x00000801, u8, n), gzip-compressed or plain.  Labels must lie in
 * [0, nclass).  Pixels become floats in [0, 1].  Returns as above. */
int data_load_idx(const char *images_path, const char *labels_path, int nclass,
                  dataset **out, tl_err *err);

/* An image folder: dir/<class>/<image> where image ends in .png, .jpg,
 * .jpeg or .bmp (any case; other files are ignored, as are names starting
 * with '.').  Classes are the subfolder names sorted bytewise; files are
 * sorted bytewise in each class, so the order is deterministic.  channels is
 * 1 (grayscale) or 3 (RGB); images are converted as stb_image does.
 * req_w = req_h = 0: every image must have the size of the first one;
 * req_w, req_h > 0: every image must be req_w x req_h.  In both cases the
 * error names the first file that differs and both sizes.  Errors (TL_EINPUT):
 * missing or empty folder, a class folder without images, an unreadable
 * image (named), mixed sizes.  Returns 0 or the code. */
int data_load_images(const char *dir, int channels, int req_w, int req_h,
                     dataset **out, tl_err *err);

/* As data_load_images, but every image is resized to w x h (w, h > 0) with
 * stb_image_resize's default filter, so folders of mixed sizes load. */
int data_load_images_resized(const char *dir, int channels, int w, int h,
                             dataset **out, tl_err *err);

/* Character-level text from path (NULL: DATA_TEXT_DEFAULT).  A regular file
 * is read whole; a folder contributes its plain files in bytewise-sorted
 * order, concatenated, skipping names starting with '.', *.dat index files,
 * *.u8 files and symbolic links; subfolders are skipped unless recursive is
 * nonzero (then they are walked the same way, in sorted order).  The
 * vocabulary is the set of bytes present, sorted; tokens are their ids.
 * Empty text is TL_EINPUT.  Returns 0 or the code. */
int data_load_text_opt(const char *path, int recursive, dataset **out, tl_err *err);

/* data_load_text_opt(path, 0, out, err). */
int data_load_text(const char *path, dataset **out, tl_err *err);

/* A token corpus from memory (len > 0 bytes), for tests and for callers
 * with their own text.  source may be NULL.  Returns 0 or the code. */
int data_text_from_bytes(const char *bytes, size_t len, const char *source,
                         dataset **out, tl_err *err);

/* 2-D spirals: n points (n >= nclass) on nclass >= 2 arms, class sizes as
 * equal as possible (class k first, in order), radius in [0, 1] before
 * Gaussian noise of standard deviation `noise` (>= 0) is added to each
 * coordinate.  Draws only from r.  Returns 0 or TL_EINPUT for bad sizes. */
int data_make_spirals(long n, int nclass, double noise, rng *r, dataset **out, tl_err *err);

/* Gaussian blobs: nclass >= 2 centres drawn uniformly in [-1, 1]^dim, then
 * n points (class k first, in order, sizes as equal as possible), each its
 * centre plus N(0, spread^2) per coordinate.  Draws only from r.  Returns 0
 * or TL_EINPUT for bad sizes. */
int data_make_blobs(long n, int nclass, int dim, double spread, rng *r,
                    dataset **out, tl_err *err);

/* An empty classification set with x (n, dim) and y (n) allocated and zeroed,
 * for callers that fill their own data.  Returns 0 or the code. */
int data_new_classif(long n, int dim, int nclass, dataset **out, tl_err *err);

/* Frees d and everything it owns; NULL is a no-op.  Views and loaders over
 * d must not be used afterwards. */
void data_free(dataset *d);

/* ---- Views ---- */

typedef struct data_view {
    const dataset *d;       /* borrowed; must outlive the view */
    long n;                 /* samples (classification) or tokens (text) */
    long *idx;              /* (n) row indices into d, owned; NULL for text */
    long tok_begin, tok_end; /* token range [tok_begin, tok_end) for text */
} data_view;

/* Every sample of d in order (or every token).  Returns 0, or TL_ERUNTIME
 * when out of memory (v is then empty).  Free with data_view_free. */
int data_view_all(const dataset *d, data_view *v, tl_err *err);

/* Seeded split into train and validation views (free both with
 * data_view_free).  Classification: the rows are shuffled from (seed) and
 * the first round(n*val_frac) go to validation, the rest to training; both
 * views keep that shuffled order, so data_view_limit keeps a random subset.
 * Text: contiguous, the last round(ntok*val_frac) tokens are validation and
 * seed is unused.  The same seed gives the same split.  TL_EINPUT when
 * val_frac is not in (0, 1) or a side would be empty (text: fewer than 2
 * tokens).  On failure both views are left empty. */
int data_split(const dataset *d, double val_frac, uint64_t seed,
               data_view *train, data_view *val, tl_err *err);

/* Keeps only the first n samples (tokens for text) of v; n <= 0 or n >=
 * v->n leaves v unchanged.  Cannot fail. */
void data_view_limit(data_view *v, long n);

/* Frees v's index array and empties it; NULL is a no-op. */
void data_view_free(data_view *v);

/* ---- Batches of a classification view ---- */

typedef struct data_loader data_loader;

/* A loader over v (which it copies: v may be freed afterwards, v->d may not)
 * giving batches of `batch` samples in v's order until the first reset.
 * drop_last = 1 drops the last partial batch of each epoch.  Returns a new
 * loader owned by the caller, or NULL with err filled: TL_EINPUT for a text
 * view, an empty view or batch < 1; TL_ERUNTIME for memory. */
data_loader *data_loader_new(const data_view *v, int batch, int drop_last, tl_err *err);

/* Starts a new epoch: the order becomes the view's order shuffled with r, so
 * it depends on r alone, not on earlier epochs (a resumed run sees the same
 * batches); NULL keeps the current order, for evaluation.  Cannot fail. */
void data_loader_reset(data_loader *l, rng *r);

/* Fills x (b, dim) and y (b) (y may be NULL) with the next
 * b = min(batch, max_b, remaining) samples and returns b; returns 0 at the
 * end of the epoch (and for a last partial batch when drop_last is set).
 * One memcpy per row; allocates nothing. */
int data_loader_next(data_loader *l, float *x, int *y, int max_b);

/* Samples delivered per epoch (after drop_last). */
long data_loader_samples(const data_loader *l);

/* Frees l; NULL is a no-op. */
void data_loader_free(data_loader *l);

/* ---- Windows of a text view ---- */

/* Returns 0 if v is a text view holding at least T+1 tokens (one window),
 * else TL_EINPUT with a message naming the corpus and the sizes. */
int data_text_check(const data_view *v, int T, tl_err *err);

/* Fills tokens (B, T) and targets (B, T) with B windows whose start is drawn
 * uniformly from r; targets are the tokens shifted by one.  Returns B, or -1
 * when v is not a text view with at least T+1 tokens or B, T < 1. */
long data_text_sample(const data_view *v, rng *r, int B, int T, int *tokens, int *targets);

/* Number of non-overlapping windows of T tokens (plus the next-token target)
 * in v: (v->n - 1) / T.  0 for a non-text view or T < 1. */
long data_text_windows(const data_view *v, int T);

/* Fills tokens (T) and targets (T) with window i in [0, windows): tokens
 * tok_begin + i*T .. + T.  Returns 0, or -1 when i is out of range. */
int data_text_window(const data_view *v, long i, int T, int *tokens, int *targets);

/* Evaluation windows, capped: of the W = data_text_windows(v, T) windows,
 * take E = min(W, cap) spread evenly over v (cap <= 0: all W); number them
 * 0..E-1.  Returns E. */
long data_text_eval_count(const data_view *v, int T, long cap);

/* Fills up to B evaluation windows numbered first, first+1, ... (as in
 * data_text_eval_count) into tokens (B, T) and targets (B, T); returns how
 * many were filled, 0 past the end.  Deterministic. */
int data_text_eval_batch(const data_view *v, int T, long cap, long first, int B,
                         int *tokens, int *targets);

/* Entropy in nats of the token frequencies of text view v (the loss of the
 * best model that ignores context: a baseline for a language model's
 * loss).  NAN for a non-text or empty view. */
double data_text_unigram_entropy(const data_view *v);

/* ---- Vocabulary ---- */

/* Encodes len bytes of s into ids (out has room for len ints).  Returns 0,
 * or TL_EINPUT naming the first byte not in d's vocabulary. */
int data_text_encode(const dataset *d, const char *s, size_t len, int *out, tl_err *err);

/* Decodes n ids into out (room for n+1 bytes; NUL-terminated).  Ids out of
 * range become '?'.  Returns n.  Cannot fail. */
size_t data_text_decode(const dataset *d, const int *ids, size_t n, char *out);

#endif
