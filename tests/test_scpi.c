/* The SCPI parser (hw/scpi.h): headers in short and long form, the ':' tree across ';',
 * numbers with suffixes and units, strings, words and blocks; replies' blocks and number
 * lists; and every malformed input refused with a message naming what is wrong.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "scpi.h"
#include "test.h"

static ab_scpi_cmd_t c[AB_SCPI_MAX_CMDS];
static char err[256];

static int parse(const char *s) { return ab_scpi_parse(s, strlen(s), c, AB_SCPI_MAX_CMDS, err, sizeof err); }

TEST(scpi_headers_short_long_any_case_with_suffixes)
{
  int sfx[4] = { 0 };
  ASSERT_EQ(parse("SOUR1:FREQ:FIX 1000"), 1);
  ASSERT(ab_scpi_match(&c[0], "SOURce#:FREQuency:FIXed", sfx));
  ASSERT_EQ(sfx[0], 1);
  ASSERT_EQ(parse(":source2:Frequency:fixed 1000"), 1);
  ASSERT(ab_scpi_match(&c[0], "SOURce#:FREQuency:FIXed", sfx));
  ASSERT_EQ(sfx[0], 2);
  ASSERT_EQ(parse("SOURCE:FREQ:FIX 1000"), 1); /* no suffix: 1 */
  ASSERT(ab_scpi_match(&c[0], "SOURce#:FREQuency:FIXed", sfx));
  ASSERT_EQ(sfx[0], 1);
  ASSERT_EQ(parse("SOURC:FREQ:FIX 1"), 1); /* neither short nor long */
  ASSERT(!ab_scpi_match(&c[0], "SOURce#:FREQuency:FIXed", NULL));
  ASSERT_EQ(parse("FREQ1:FIX 1"), 1); /* a suffix where none is allowed */
  ASSERT(!ab_scpi_match(&c[0], "FREQuency:FIXed", NULL));
  ASSERT_EQ(parse("ACQ:TRIG:STAT?"), 1);
  ASSERT(c[0].query && ab_scpi_match(&c[0], "ACQuire:TRIGger:STATe", NULL));
  ASSERT(!ab_scpi_match(&c[0], "ACQuire:TRIGger", NULL)); /* the whole header, not a prefix */
  ASSERT_EQ(parse("*idn?"), 1);
  ASSERT(c[0].common && c[0].query && ab_scpi_match(&c[0], "*IDN", NULL));
  ASSERT(!ab_scpi_match(&c[0], "IDN", NULL));
}

/* SCPI-1999 6.2.4: after ';' a header is relative to the previous one's path; ':' restarts;
 * a common command leaves the path as it was. */
TEST(scpi_tree_across_semicolons)
{
  ASSERT_EQ(parse("SOUR1:FREQ:FIX 1kHz;VOLT 0.5;:OUTPUT1:STATE ON;*OPC?;STATE?"), 5);
  ASSERT(ab_scpi_match(&c[0], "SOURce#:FREQuency:FIXed", NULL));
  ASSERT(ab_scpi_match(&c[1], "SOURce#:FREQuency:VOLTage", NULL)); /* FREQ's path: SOUR1:FREQ */
  ASSERT(ab_scpi_match(&c[2], "OUTPUT#:STATe", NULL));
  ASSERT(ab_scpi_match(&c[3], "*OPC", NULL));
  ASSERT(ab_scpi_match(&c[4], "OUTPUT#:STATe", NULL) && c[4].query); /* the path before *OPC */
  ASSERT_EQ(c[2].param[0].type, AB_SCPI_WORD);
  ASSERT_STR(c[2].param[0].text, "ON");
}

TEST(scpi_numbers_with_multipliers_and_units)
{
  struct { const char *s; double v; const char *unit; } ok[] = {
    { "1.5kHz", 1500, "HZ" }, { "200us", 2e-4, "S" }, { "200 US", 2e-4, "S" }, { "3MHZ", 3e6, "HZ" },
    { "3mhz", 3e6, "HZ" }, { "3mV", 3e-3, "V" }, { "2MAV", 2e6, "V" }, { "-2.5e-3", -2.5e-3, "" },
    { "+.5 E 2", 50, "" }, { "1K", 1000, "" }, { "10MOHM", 1e7, "OHM" }, { "7 dB", 7, "DB" },
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    double v = NAN;
    char unit[8] = "?";
    if (ab_scpi_number(ok[i].s, strlen(ok[i].s), &v, unit, err, sizeof err) != 0)
      AB_FAIL("'%s' refused: %s", ok[i].s, err);
    if (fabs(v - ok[i].v) > 1e-12 * fabs(ok[i].v) || strcmp(unit, ok[i].unit))
      AB_FAIL("'%s': %g %s, expected %g %s", ok[i].s, v, unit, ok[i].v, ok[i].unit);
  }
  ASSERT_EQ(parse("X #H1f,#Q17,#B101"), 1);
  ASSERT_DBL(c[0].param[0].num, ==, 31);
  ASSERT_DBL(c[0].param[1].num, ==, 15);
  ASSERT_DBL(c[0].param[2].num, ==, 5);
}

TEST(scpi_strings_words_and_blocks)
{
  ASSERT_EQ(parse("DISP:TEXT 'it''s', \"say \"\"hi\"\"\";DATA #15a;b\nc"), -EINVAL); /* a newline is a terminator */
  ASSERT_EQ(parse("DISP:TEXT 'it''s', \"say \"\"hi\"\"\";DATA #15a;b c, NOW"), 2);
  ASSERT_STR(c[0].param[0].text, "it's");
  ASSERT_STR(c[0].param[1].text, "say \"hi\"");
  ASSERT_EQ(c[1].param[0].type, AB_SCPI_BLOCK);
  ASSERT_EQ((long)c[1].param[0].block_len, 5);
  ASSERT(!memcmp(c[1].param[0].block, "a;b c", 5)); /* a ';' inside a block is data */
  ASSERT_STR(c[1].param[1].text, "NOW");
}

/* Each malformed message is refused, its message naming the fault. */
TEST(scpi_malformed_input_is_refused_naming_the_fault)
{
  struct { const char *s; int rc; const char *says; } bad[] = {
    { "SOUR1:FREQ:FIX 1.5kHzz", -EINVAL, "bad suffix 'KHZZ'" },
    { "SOUR1:FREQ:FIX 1.5QV", -EINVAL, "bad suffix" },
    { "DATA #15abc", -EINVAL, "truncated block" },
    { "DATA #0abc", -EINVAL, "block" },
    { "DATA #2x5abc", -EINVAL, "block" },
    { "DISP:TEXT 'open", -EINVAL, "unterminated string" },
    { "SOUR1::FREQ 1", -EINVAL, "header mnemonic" },
    { "SOUR1:FREQ 1,", -EINVAL, "missing parameter" },
    { "SOUR1:FREQ 1 2", -EINVAL, "after a parameter" },
    { "*RST;", -EINVAL, "no command after it" },
    { "SOUR1:FREQ? ;;", -EINVAL, "header" },
    { "X 1e999", -EINVAL, "out of range" },
    { "X #HFFFFFFFFFFFFFFFFFFFF", -EINVAL, "non-decimal" },
    { "X @", -EINVAL, "unexpected '@'" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    err[0] = 0;
    int r = parse(bad[i].s);
    if (r != bad[i].rc || !strstr(err, bad[i].says))
      AB_FAIL("'%s': %d \"%s\", expected %d with \"%s\"", bad[i].s, r, err, bad[i].rc, bad[i].says);
  }
  static char line[AB_SCPI_LINE_MAX + 2];
  memset(line, 'A', sizeof line - 1);
  ASSERT_EQ(ab_scpi_parse(line, AB_SCPI_LINE_MAX + 1, c, AB_SCPI_MAX_CMDS, err, sizeof err), -E2BIG);
  ASSERT_CONTAINS(err, "4097 bytes");
  ASSERT_EQ(parse("A;A;A;A;A;A;A;A;A;A;A;A;A;A;A;A;A"), -E2BIG); /* 17 commands */
  ASSERT_EQ(parse("   "), 0);
}

TEST(scpi_reply_blocks_and_number_lists)
{
  const char *d;
  size_t dl, used;
  ASSERT_EQ(ab_scpi_block("#3010abcdefghijXYZ", 18, 100, &d, &dl, &used), 1);
  ASSERT_EQ((long)dl, 10);
  ASSERT_EQ((long)used, 15);
  ASSERT(!memcmp(d, "abcdefghij", 10));
  ASSERT_EQ(ab_scpi_block("#3010abcde", 10, 100, &d, &dl, &used), 0); /* more to come */
  ASSERT_EQ(ab_scpi_block("#30", 3, 100, &d, &dl, &used), 0);
  ASSERT_EQ(ab_scpi_block("#3010abcdefghij", 15, 9, &d, &dl, &used), -EINVAL); /* over max */
  ASSERT_EQ(ab_scpi_block("#0abc", 5, 100, &d, &dl, &used), -EINVAL);
  ASSERT_EQ(ab_scpi_block("{1,2}", 5, 100, &d, &dl, &used), -EINVAL);
  float f[4];
  ASSERT_EQ(ab_scpi_floats("{0.5,-1e-3, 2 }", 15, f, 4), 3);
  ASSERT_DBL(f[1], ==, (float)-1e-3);
  ASSERT_EQ(ab_scpi_floats("1,2,3,4,5,6", 11, f, 4), 6); /* all counted, 4 stored */
  ASSERT_EQ(ab_scpi_floats("{1,2", 4, f, 4), -EINVAL);
  ASSERT_EQ(ab_scpi_floats("1,,2", 4, f, 4), -EINVAL);
  ASSERT_EQ(ab_scpi_floats("TD", 2, f, 4), -EINVAL);
}
