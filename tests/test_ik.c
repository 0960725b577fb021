/* Inverse kinematics tests: forward kinematics against hand-worked poses and an independent
 * 4x4 DH product, the analytic Jacobian against finite differences, and damped least squares
 * convergence (reachable targets) and behaviour (unreachable ones).
 */
#include <math.h>
#include <time.h>

#include "ab.h"
#include "ik.h"
#include "test.h"

static uint64_t rng_next(uint64_t *s) /* splitmix64 */
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double rng_range(uint64_t *s, double lo, double hi)
{
  return lo + (hi - lo) * ((rng_next(s) >> 11) * (1.0 / 9007199254740992.0));
}

static void random_q(uint64_t *s, double q[AB_IK_DOF])
{
  for (int i = 0; i < AB_IK_DOF; i++)
    q[i] = rng_range(s, -M_PI, M_PI);
}

static void assert_pose(const ab_pose_t *got, const double p[3], double R[3][3], double tol)
{
  for (int r = 0; r < 3; r++) {
    if (!(fabs(got->p[r] - p[r]) <= tol))
      AB_FAIL("p[%d] %.9f vs %.9f", r, got->p[r], p[r]);
    for (int k = 0; k < 3; k++)
      if (!(fabs(got->R[r][k] - R[r][k]) <= tol))
        AB_FAIL("R[%d][%d] %.9f vs %.9f", r, k, got->R[r][k], R[r][k]);
  }
}

/* Worked by hand from the DH table (d1, a2, a3, d4, d5, d6; alpha pi/2, 0, 0, pi/2, -pi/2, 0):
 * at zero, links 2-3 lie along -x at height d1, d4 and d6 go along -y, d5 along -z, and the
 * flange frame is Rx(pi/2). */
TEST(ik_fk_zero_angles_gives_ur5_zero_pose)
{
  double q[AB_IK_DOF] = { 0 };
  ab_pose_t pose;
  ab_fk(q, &pose);
  const double p[3] = { -0.81725, -0.19145, -0.005491 };
  double R[3][3] = { { 1, 0, 0 }, { 0, 0, -1 }, { 0, 1, 0 } };
  assert_pose(&pose, p, R, 1e-12);
}

/* q2 = -pi/2 stands the upper arm and forearm straight up: height d1 + 0.425 + 0.39225,
 * d4 and d6 along -y, d5 along -x; the flange's x points down. */
TEST(ik_fk_arm_upright_gives_hand_worked_pose)
{
  double q[AB_IK_DOF] = { 0, -M_PI / 2, 0, 0, 0, 0 };
  ab_pose_t pose;
  ab_fk(q, &pose);
  const double p[3] = { -0.09465, -0.19145, 0.089159 + 0.425 + 0.39225 };
  double R[3][3] = { { 0, 1, 0 }, { 0, 0, -1 }, { -1, 0, 0 } }; /* x down, y along +x */
  assert_pose(&pose, p, R, 1e-12);
}

/* An independent forward kinematics: the textbook 4x4 homogeneous DH matrices multiplied out. */
static void fk_4x4(const double q[AB_IK_DOF], double T[4][4])
{
  static const double d[6] = { 0.089159, 0, 0, 0.10915, 0.09465, 0.0823 };
  static const double a[6] = { 0, -0.425, -0.39225, 0, 0, 0 };
  static const double al[6] = { M_PI / 2, 0, 0, M_PI / 2, -M_PI / 2, 0 };
  double M[4][4] = { { 1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 } };
  for (int i = 0; i < 6; i++) {
    double ct = cos(q[i]), st = sin(q[i]), ca = cos(al[i]), sa = sin(al[i]);
    double A[4][4] = { { ct, -st * ca, st * sa, a[i] * ct },
                       { st, ct * ca, -ct * sa, a[i] * st },
                       { 0, sa, ca, d[i] },
                       { 0, 0, 0, 1 } };
    double N[4][4];
    for (int r = 0; r < 4; r++)
      for (int c = 0; c < 4; c++) {
        N[r][c] = 0;
        for (int k = 0; k < 4; k++)
          N[r][c] += M[r][k] * A[k][c];
      }
    memcpy(M, N, sizeof M);
  }
  memcpy(T, M, sizeof M);
}

TEST(ik_fk_matches_independent_4x4_dh_product)
{
  uint64_t s = 17;
  for (int n = 0; n < 1000; n++) {
    double q[AB_IK_DOF], T[4][4];
    random_q(&s, q);
    ab_pose_t pose;
    ab_fk(q, &pose);
    fk_4x4(q, T);
    double p[3] = { T[0][3], T[1][3], T[2][3] }, R[3][3];
    for (int r = 0; r < 3; r++)
      for (int c = 0; c < 3; c++)
        R[r][c] = T[r][c];
    assert_pose(&pose, p, R, 1e-12);
  }
}

TEST(ik_jacobian_matches_finite_difference_of_fk_within_1e6)
{
  uint64_t s = 23;
  const double h = 1e-6;
  double worst = 0;
  for (int n = 0; n < 200; n++) {
    double q[AB_IK_DOF], J[6][AB_IK_DOF];
    random_q(&s, q);
    ab_jacobian(q, J);
    ab_pose_t c;
    ab_fk(q, &c);
    for (int i = 0; i < AB_IK_DOF; i++) {
      double qp[AB_IK_DOF], qm[AB_IK_DOF];
      memcpy(qp, q, sizeof qp);
      memcpy(qm, q, sizeof qm);
      qp[i] += h;
      qm[i] -= h;
      ab_pose_t pp, pm;
      ab_fk(qp, &pp);
      ab_fk(qm, &pm);
      double col[6], dR[3][3];
      for (int r = 0; r < 3; r++) {
        col[r] = (pp.p[r] - pm.p[r]) / (2 * h);
        for (int k = 0; k < 3; k++)
          dR[r][k] = (pp.R[r][k] - pm.R[r][k]) / (2 * h);
      }
      /* angular velocity: [w]x = dR/dq R^T */
      double W[3][3];
      for (int r = 0; r < 3; r++)
        for (int k = 0; k < 3; k++)
          W[r][k] = dR[r][0] * c.R[k][0] + dR[r][1] * c.R[k][1] + dR[r][2] * c.R[k][2];
      col[3] = W[2][1];
      col[4] = W[0][2];
      col[5] = W[1][0];
      for (int r = 0; r < 6; r++) {
        double e = fabs(J[r][i] - col[r]);
        worst = e > worst ? e : worst;
        if (!(e <= 1e-6))
          AB_FAIL("q set %d: J[%d][%d] %.9f vs finite difference %.9f", n, r, i, J[r][i], col[r]);
      }
    }
  }
  printf("worst |J - finite difference| %.2e\n", worst);
}

static double rot_angle(double A[3][3], double B[3][3]) /* angle of A B^T */
{
  double tr = 0;
  for (int r = 0; r < 3; r++)
    for (int k = 0; k < 3; k++)
      tr += A[r][k] * B[r][k];
  double c = 0.5 * (tr - 1);
  return acos(c > 1 ? 1 : c < -1 ? -1 : c);
}

static int64_t mono_ns(void)
{
  return ab_now_ns();
}

TEST(ik_dls_converges_from_nearby_start_for_95_percent_of_random_targets)
{
  const int trials = 2000;
  int ok = 0, iters = 0, max_it = 0;
  int64_t t_total = 0;
  uint64_t s = 31;
  for (int n = 0; n < trials; n++) {
    double qt[AB_IK_DOF], q0[AB_IK_DOF], q[AB_IK_DOF];
    random_q(&s, qt);
    for (int i = 0; i < AB_IK_DOF; i++)
      q0[i] = qt[i] + rng_range(&s, -0.3, 0.3);
    ab_pose_t target, got;
    ab_fk(qt, &target);
    int64_t t0 = mono_ns();
    ab_ik_result_t r = ab_ik_dls(q0, &target, 0.05, 50, 1e-4, q);
    t_total += mono_ns() - t0;
    /* the solver's own report must be true of the joints it returns */
    ab_fk(q, &got);
    double ep = sqrt(pow(got.p[0] - target.p[0], 2) + pow(got.p[1] - target.p[1], 2) +
                     pow(got.p[2] - target.p[2], 2));
    double er = rot_angle(target.R, got.R);
    if (fabs(ep - r.err_pos) > 1e-9 || fabs(er - r.err_rot) > 1e-6)
      AB_FAIL("trial %d: reported errors %.3g m %.3g rad, actual %.3g m %.3g rad", n, r.err_pos,
              r.err_rot, ep, er);
    if (r.converged && !(ep < 1e-4 && er < 1e-3))
      AB_FAIL("trial %d: converged but %.3g m %.3g rad", n, ep, er);
    if (r.converged)
      ok++;
    iters += r.iterations;
    max_it = r.iterations > max_it ? r.iterations : max_it;
  }
  printf("converged %d/%d (%.1f%%), mean %.1f iterations (max %d), mean solve %.1f us\n", ok, trials,
         100.0 * ok / trials, (double)iters / trials, max_it, t_total / 1e3 / trials);
  ASSERT_INT(ok, >=, trials * 95 / 100);
}

TEST(ik_dls_unreachable_target_5m_away_stays_finite_and_not_converged)
{
  double q0[AB_IK_DOF] = { 0.1, -1.0, 1.2, -0.5, 0.4, 0.3 }, q[AB_IK_DOF];
  ab_pose_t target;
  ab_fk(q0, &target);
  target.p[0] += 5.0;
  ab_ik_result_t r = ab_ik_dls(q0, &target, 0.05, 50, 1e-4, q);
  printf("after %d iterations: %.3f m, %.3f rad\n", r.iterations, r.err_pos, r.err_rot);
  ASSERT_EQ(r.converged, 0);
  ASSERT_EQ(r.iterations, 50);
  ASSERT(isfinite(r.err_pos) && isfinite(r.err_rot));
  for (int i = 0; i < AB_IK_DOF; i++)
    ASSERT(isfinite(q[i]));
  ASSERT_DBL(r.err_pos, >, 3.0); /* reach is about 1 m: the target stays ~4 m off */
  ASSERT_DBL(r.err_pos, <, 5.0); /* but the arm did stretch toward it */
}

TEST(ik_dls_at_target_takes_zero_iterations_and_q_may_alias_q0)
{
  double q[AB_IK_DOF] = { 0.3, -1.1, 0.9, -1.4, 1.2, 0.2 };
  ab_pose_t target;
  ab_fk(q, &target);
  ab_ik_result_t r = ab_ik_dls(q, &target, 0.05, 50, 1e-4, q);
  ASSERT_EQ(r.converged, 1);
  ASSERT_EQ(r.iterations, 0);
  double q0[AB_IK_DOF] = { 0.35, -1.0, 0.8, -1.3, 1.3, 0.1 };
  memcpy(q, q0, sizeof q);
  r = ab_ik_dls(q, &target, 0.05, 50, 1e-4, q);
  ASSERT_EQ(r.converged, 1);
  ASSERT_INT(r.iterations, >, 0);
}

TEST(ik_dls_turns_the_flange_through_a_half_turn_error)
{
  /* the orientation error's hardest case: the target rotated 180 degrees about the flange's
   * own axis, where sin(angle) * axis vanishes */
  double q0[AB_IK_DOF] = { 0.3, -1.1, 0.9, -1.4, 1.2, 0.2 }, qt[AB_IK_DOF], q[AB_IK_DOF];
  memcpy(qt, q0, sizeof qt);
  qt[5] += M_PI;
  ab_pose_t target;
  ab_fk(qt, &target);
  ab_ik_result_t r = ab_ik_dls(q0, &target, 0.05, 100, 1e-4, q);
  printf("half turn: converged %d after %d iterations, %.2e m %.2e rad\n", r.converged, r.iterations,
         r.err_pos, r.err_rot);
  ASSERT_EQ(r.converged, 1);
}

TEST(ik_dls_starting_at_a_singular_pose_stays_finite_and_converges)
{
  /* all zeros: elbow straight (q3 = 0) and wrist aligned (q5 = 0), J J^T rank-deficient */
  double q0[AB_IK_DOF] = { 0 }, qt[AB_IK_DOF] = { 0.1, -0.2, 0.3, 0.1, 0.2, 0.1 }, q[AB_IK_DOF];
  ab_pose_t target;
  ab_fk(qt, &target);
  for (int k = 0; k < 2; k++) {
    double lambda = k ? 0.0 : 0.05; /* undamped too: the floor keeps Cholesky defined */
    ab_ik_result_t r = ab_ik_dls(q0, &target, lambda, 50, 1e-4, q);
    printf("lambda %.2f: converged %d after %d iterations, %.2e m %.2e rad\n", lambda, r.converged,
           r.iterations, r.err_pos, r.err_rot);
    for (int i = 0; i < AB_IK_DOF; i++)
      ASSERT(isfinite(q[i]));
    ASSERT_EQ(r.converged, 1);
  }
}
