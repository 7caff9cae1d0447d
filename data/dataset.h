/* data/dataset.h: labelled datasets and token corpora, and their splits.
 *
 * DRAFT contract (the data helper owns and completes this header; keep these
 * names so cli/ can be written against them):
 *
 *   A `dataset` is either a classification set: n samples of dim floats in
 *   [0, 1] (x, row-major (n, dim)) with integer labels y in [0, nclass), plus
 *   the image geometry (width, height, channels) when it came from images;
 *   or a token corpus: ntok token ids in [0, vocab) with the vocabulary's
 *   characters.
 *
 *   A `data_view` is a subset of a dataset's rows (an index array), so the
 *   train/validation split never copies the data and one loaded dataset is
 *   shared read-only by every trial of a study.
 *
 * data/ knows nothing of models: batches are filled into caller buffers.
 */
#ifndef TL_DATA_DATASET_H
#define TL_DATA_DATASET_H
#endif
