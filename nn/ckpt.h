/* nn/ckpt.h: checkpoints of a trainer (and its model) on disk.
 *
 * What it does: writes and reads everything a run needs to continue bit for
 * bit: the model parameters, the optimizer state and step count, the
 * trainer's step and epoch (the schedule position), its rng, lr multiplier
 * and live hyperparameters, the model's dropout, the early-stopping state
 * with the best parameters, the history, and an opaque blob (the CLI keeps
 * its resolved INI text there).
 *
 * Format (version 1, little-endian):
 *   header, 32 bytes: magic "TLCKPT\r\n", u32 version, u32 0x01020304 (byte
 *   order), u64 payload size, u32 crc32 (zlib) of the payload, u32 header size
 *   payload: u64 nparams, u32 ntensors, the tensor table (name[48], u64
 *   offset, u64 size, i32 ndim, i32 shape[4], i32 decay each), the trainer
 *   scalars (among them the live hyperparameters, train_live, field by
 *   field in one fixed order: ckpt.c's w_live and r_live), the history,
 *   then float arrays params, optimizer m (and v for AdamW), best params
 *   (if kept), then u64 blob length and the blob.  A change of this layout
 *   bumps CKPT_VERSION; tests/data/ckpt_v1_sgd.bin pins version 1.
 * A save writes PATH.tmp, flushes and fsyncs it, renames it over PATH and
 * fsyncs the directory, so PATH is always either the old or the new file.
 *
 * What it does not do: no model config (the blob carries it: read it with
 * ckpt_peek, build the model and the trainer, then ckpt_load), no
 * compression, no big-endian hosts.
 */
#ifndef TL_NN_CKPT_H
#define TL_NN_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "nn/train.h"
#include "util/err.h"

#define CKPT_VERSION 1

/* Writes t (its model included) and blob (blob_len bytes, may be NULL with
 * length 0) to path atomically.  Returns 0, or TL_ERUNTIME naming the file
 * and the failed operation (PATH.tmp is removed; PATH is untouched). */
int ckpt_save(const trainer *t, const char *path, const void *blob, size_t blob_len,
              tl_err *err);

/* Loads path into t, which must have been initialized (trainer_init) on a
 * model of the same architecture with the same optimizer.  Validates the
 * whole file first; on any failure t is untouched and the return is
 * TL_EINPUT with "path: problem" for a missing, truncated, corrupted
 * (checksum), wrong-magic, wrong-version or mismatched (parameter count,
 * tensor table, optimizer) file, TL_ERUNTIME when out of memory.  If blob is
 * not NULL, *blob receives a malloc'd copy of the blob (the caller frees it)
 * and *blob_len its length. */
int ckpt_load(trainer *t, const char *path, void **blob, size_t *blob_len, tl_err *err);

/* What a checkpoint holds, without a trainer. */
typedef struct ckpt_info {
    uint32_t version;
    size_t nparams;
    int ntensors;
    int optimizer;      /* enum optim_kind */
    int epoch;
    long step;
    int status;         /* enum train_status */
} ckpt_info;

/* Validates path (header, size, checksum) and fills *info (may be NULL) and
 * the blob as ckpt_load does (blob may be NULL).  Returns 0 or the errors of
 * ckpt_load.  Use it to read the config before building the model. */
int ckpt_peek(const char *path, ckpt_info *info, void **blob, size_t *blob_len, tl_err *err);

/* Validates path as ckpt_peek does and compares its architecture with m's:
 * the model kind (the tensor names say it: fc0.weight, wte) and every
 * tensor's name, size, offset and shape.  Returns 0 when they are the same,
 * TL_EINPUT "path: architecture mismatch ..." naming the first difference
 * (or the errors of ckpt_peek). */
int ckpt_check_model(const char *path, const nn_model *m, tl_err *err);

/* ---- in memory ----
 * The same bytes as a checkpoint file, in a buffer: what the MPI executor
 * sends between ranks (a paused trial, a PBT member), with no file.
 * Errors name the "in-memory checkpoint". */

/* Writes t and blob as ckpt_save would write them to a file, into a
 * malloc'd *out of *out_len bytes (the caller frees it).  Returns 0 or
 * TL_ERUNTIME (out of memory; *out is then NULL). */
int ckpt_save_mem(const trainer *t, const void *blob, size_t blob_len, unsigned char **out, size_t *out_len,
                  tl_err *err);

/* ckpt_load and ckpt_peek on the n bytes a ckpt_save_mem (or a checkpoint
 * file) holds; same checks, same errors, same ownership of *blob. */
int ckpt_load_mem(trainer *t, const void *bytes, size_t n, void **blob, size_t *blob_len, tl_err *err);
int ckpt_peek_mem(const void *bytes, size_t n, ckpt_info *info, void **blob, size_t *blob_len, tl_err *err);

#endif
