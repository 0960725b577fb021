/* SCPI (IEEE 488.2 and SCPI-1999) program messages and responses, as an instrument's parser
 * reads them and as a controller reads the replies: no allocation, no I/O, every malformed
 * input refused with a message that names the bad part.
 *
 * A program message is one line: commands separated by ';', each a header and its
 * parameters, ended by '\n' (an optional '\r' before it is dropped by the caller's reader).
 *   header      ":SOURce1:FREQuency:FIXed", "ACQ:TRIG:STAT?", "*IDN?". Mnemonics match their
 *               short form (the capitals of the pattern) or their long form, in any case; a
 *               trailing number is a numeric suffix ("SOUR1", "OUTPUT2"). After ';' a header
 *               without a leading ':' is relative to the previous command's path (its nodes
 *               but the last), as SCPI-1999 §6.2.4 says; ':' restarts from the root, and a
 *               common command ('*') leaves the path as it was.
 *   parameters  after white space, separated by ',':
 *                 numbers  decimal with sign, point and exponent, then an optional suffix:
 *                          a multiplier (EX PE T G MA K M U N P F A; M is milli, MA mega,
 *                          but MHZ is megahertz and MOHM megaohm) and a unit (HZ V S A OHM
 *                          DB DEG PCT W); or non-decimal #H, #Q, #B; the value is in base
 *                          units ("1.5kHz" is 1500, "200us" 2e-4).
 *                 strings  '...' or "..." (a doubled quote inside is one quote).
 *                 words    character data: NOW, ON, MIN, CH1_PE.
 *                 blocks   IEEE 488.2 definite length: #<n><len digits><len bytes>.
 */
#ifndef AB_SCPI_H
#define AB_SCPI_H

#include <stddef.h>
#include <stdint.h>

#define AB_SCPI_LINE_MAX 4096 /* a program message, terminator excluded */
#define AB_SCPI_MAX_CMDS 16   /* commands in one message */
#define AB_SCPI_MAX_NODES 8   /* mnemonics in one header */
#define AB_SCPI_MAX_PARAMS 8  /* parameters of one command */
#define AB_SCPI_NODE_MAX 24   /* a mnemonic with its suffix (12 letters is SCPI's longest) */
#define AB_SCPI_TEXT_MAX 128  /* a string or word parameter */

enum ab_scpi_ptype { AB_SCPI_NUM = 1, AB_SCPI_STR, AB_SCPI_WORD, AB_SCPI_BLOCK };

typedef struct ab_scpi_param {
  int type;                    /* enum ab_scpi_ptype */
  double num;                  /* NUM: in base units (the multiplier applied) */
  char unit[8];                /* NUM: the unit given, upper case ("HZ"), or "" */
  char text[AB_SCPI_TEXT_MAX]; /* STR: unquoted; WORD: upper case */
  const char *block;           /* BLOCK: into the parsed line */
  size_t block_len;
} ab_scpi_param_t;

typedef struct ab_scpi_cmd {
  int common;   /* a '*' command: node[0] is its mnemonic without the '*' */
  int query;    /* the header ended in '?' */
  int nnodes;
  char node[AB_SCPI_MAX_NODES][AB_SCPI_NODE_MAX]; /* as written, upper case */
  int nparams;
  ab_scpi_param_t param[AB_SCPI_MAX_PARAMS];
} ab_scpi_cmd_t;

/* Parse one program message (len bytes, no terminator) into at most max commands. Returns
 * how many (an empty message is 0), or -EINVAL with err naming the bad part and what was
 * expected, -E2BIG for a line over AB_SCPI_LINE_MAX or too many commands, nodes, parameters
 * or characters in one. */
int ab_scpi_parse(const char *line, size_t len, ab_scpi_cmd_t *cmds, int max, char *err, size_t errlen);

/* Does cmd's header match pattern ("SOURce#:FREQuency:FIXed", "*IDN", "ACQuire:TRIGger:STATe";
 * '#' marks a node that may carry a numeric suffix, 1 when absent)? The query mark is not
 * part of the pattern. 1 with the suffixes in order in suffix[] (may be NULL), else 0. */
int ab_scpi_match(const ab_scpi_cmd_t *cmd, const char *pattern, int *suffix);

/* A decimal number with an optional suffix, as in a parameter: 0 with *v in base units and
 * the unit in unit (8 bytes, may be NULL), or -EINVAL with err. */
int ab_scpi_number(const char *s, size_t len, double *v, char *unit, char *err, size_t errlen);

/* An IEEE 488.2 definite-length block at the start of buf: 1 with *data, *dlen and *used
 * (the whole block's bytes), 0 if buf holds only part of it so far, -EINVAL if it is no block
 * ("#0" indefinite blocks included: a reply must say its length) or its length is over max. */
int ab_scpi_block(const char *buf, size_t len, size_t max, const char **data, size_t *dlen, size_t *used);

/* A reply's comma-separated numbers, optionally in braces ("{0.1,-0.2}" as Red Pitaya sends
 * ACQ:SOUR1:DATA?): how many there are (the first max of them stored in out), or -EINVAL at
 * the first that is not a number. */
int ab_scpi_floats(const char *s, size_t len, float *out, int max);

#endif
