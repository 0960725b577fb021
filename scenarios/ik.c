/* Inverse kinematics for the robot workload's 100 Hz inner loop (WORKLOADS.md section 1):
 * the "tens of microseconds" of damped least squares the source document budgets for, done
 * for real on a UR5-like arm rather than stood in for by a sleep.
 *
 * Standard DH, joint i: T_i = Rz(q_i) Tz(d_i) Tx(a_i) Rx(alpha_i). One pass down the chain
 * gives the end pose and every joint's origin and axis, which is all the geometric Jacobian
 * needs, so a solver iteration walks the chain once.
 */
#include "ik.h"

#include <math.h>
#include <string.h>

static const double ab__dh_d[AB_IK_DOF] = { 0.089159, 0, 0, 0.10915, 0.09465, 0.0823 };
static const double ab__dh_a[AB_IK_DOF] = { 0, -0.425, -0.39225, 0, 0, 0 };
/* cos and sin of alpha = pi/2, 0, 0, pi/2, -pi/2, 0, written exactly: cos(M_PI/2) is 6e-17,
 * which would put dust into every pose. */
static const double ab__dh_ca[AB_IK_DOF] = { 0, 1, 1, 0, 0, 1 };
static const double ab__dh_sa[AB_IK_DOF] = { 1, 0, 0, 1, -1, 0 };

#define AB__IK_MAX_DP 0.2   /* m: largest position error one step aims at */
#define AB__IK_MAX_DR 0.5   /* rad: largest orientation error one step aims at */
#define AB__IK_MAX_DQ 0.3   /* rad: largest joint move in one step */
#define AB__IK_EREF 0.1     /* pose error (m, rad) below which damping fades */

typedef struct ab__chain {
  double o[AB_IK_DOF][3]; /* origin of frame i-1, base coordinates */
  double z[AB_IK_DOF][3]; /* axis of joint i (z of frame i-1) */
  ab_pose_t end;
} ab__chain_t;

static void ab__walk(const double q[AB_IK_DOF], ab__chain_t *c)
{
  double R[3][3] = { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } }, p[3] = { 0, 0, 0 };
  for (int i = 0; i < AB_IK_DOF; i++) {
    for (int r = 0; r < 3; r++) {
      c->o[i][r] = p[r];
      c->z[i][r] = R[r][2];
    }
    double ct = cos(q[i]), st = sin(q[i]), ca = ab__dh_ca[i], sa = ab__dh_sa[i];
    double A[3][3] = { { ct, -st * ca, st * sa }, { st, ct * ca, -ct * sa }, { 0, sa, ca } };
    double t[3] = { ab__dh_a[i] * ct, ab__dh_a[i] * st, ab__dh_d[i] };
    double Rn[3][3];
    for (int r = 0; r < 3; r++) {
      p[r] += R[r][0] * t[0] + R[r][1] * t[1] + R[r][2] * t[2];
      for (int k = 0; k < 3; k++)
        Rn[r][k] = R[r][0] * A[0][k] + R[r][1] * A[1][k] + R[r][2] * A[2][k];
    }
    memcpy(R, Rn, sizeof R);
  }
  memcpy(c->end.p, p, sizeof p);
  memcpy(c->end.R, R, sizeof R);
}

static void ab__jacobian(const ab__chain_t *c, double J[6][AB_IK_DOF])
{
  const double *pe = c->end.p;
  for (int i = 0; i < AB_IK_DOF; i++) {
    const double *z = c->z[i];
    double d[3] = { pe[0] - c->o[i][0], pe[1] - c->o[i][1], pe[2] - c->o[i][2] };
    J[0][i] = z[1] * d[2] - z[2] * d[1];
    J[1][i] = z[2] * d[0] - z[0] * d[2];
    J[2][i] = z[0] * d[1] - z[1] * d[0];
    J[3][i] = z[0];
    J[4][i] = z[1];
    J[5][i] = z[2];
  }
}

void ab_fk(const double q[AB_IK_DOF], ab_pose_t *out)
{
  ab__chain_t c;
  ab__walk(q, &c);
  *out = c.end;
}

void ab_jacobian(const double q[AB_IK_DOF], double J[6][AB_IK_DOF])
{
  ab__chain_t c;
  ab__walk(q, &c);
  ab__jacobian(&c, J);
}

/* Pose error in base coordinates: position difference, and the rotation vector (axis times
 * angle) of Re = Rt Rc^T, the rotation that carries the current frame onto the target. The
 * rotation vector rather than 0.5 sum(rc_i x rt_i) because the latter is sin(angle) times the
 * axis: it shrinks again past 90 degrees and vanishes at 180. Returns the angle. */
static double ab__pose_error(const ab_pose_t *t, const ab_pose_t *c, double e[6])
{
  double Re[3][3];
  for (int r = 0; r < 3; r++) {
    e[r] = t->p[r] - c->p[r];
    for (int k = 0; k < 3; k++)
      Re[r][k] = t->R[r][0] * c->R[k][0] + t->R[r][1] * c->R[k][1] + t->R[r][2] * c->R[k][2];
  }
  double w[3] = { 0.5 * (Re[2][1] - Re[1][2]), 0.5 * (Re[0][2] - Re[2][0]),
                  0.5 * (Re[1][0] - Re[0][1]) }; /* sin(angle) * axis */
  double s = sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
  double cth = 0.5 * (Re[0][0] + Re[1][1] + Re[2][2] - 1.0);
  double ang = atan2(s, cth);
  if (s > 1e-9) {
    for (int k = 0; k < 3; k++)
      e[3 + k] = w[k] * (ang / s);
  } else if (cth > 0) {
    for (int k = 0; k < 3; k++) /* angle ~ 0: the sine is the angle */
      e[3 + k] = w[k];
  } else {
    /* Angle ~ pi: the skew part is gone; the axis is the largest column of (Re + I) / 2,
     * which is axis * axis^T there. Either sign is a correct half turn. */
    int best = 0;
    double bn = -1;
    for (int k = 0; k < 3; k++) {
      double n = (Re[0][k] + (k == 0)) * (Re[0][k] + (k == 0)) +
                 (Re[1][k] + (k == 1)) * (Re[1][k] + (k == 1)) +
                 (Re[2][k] + (k == 2)) * (Re[2][k] + (k == 2));
      if (n > bn) {
        bn = n;
        best = k;
      }
    }
    double inv = bn > 0 ? ang / sqrt(bn) : 0;
    for (int r = 0; r < 3; r++)
      e[3 + r] = (Re[r][best] + (r == best)) * inv;
  }
  return ang;
}

static void ab__clamp3(double *v, double max)
{
  double n = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
  if (n > max)
    for (int k = 0; k < 3; k++)
      v[k] *= max / n;
}

/* Solve A y = b for a symmetric positive definite 6x6 A by Cholesky (A = L L^T). Returns -1
 * if a pivot is not positive, which damping > 0 rules out except for non-finite input. */
static int ab__chol_solve6(double A[6][6], const double b[6], double y[6])
{
  double L[6][6] = { { 0 } };
  for (int j = 0; j < 6; j++) {
    double d = A[j][j];
    for (int k = 0; k < j; k++)
      d -= L[j][k] * L[j][k];
    if (!(d > 0))
      return -1;
    L[j][j] = sqrt(d);
    double inv = 1.0 / L[j][j];
    for (int i = j + 1; i < 6; i++) {
      double s = A[i][j];
      for (int k = 0; k < j; k++)
        s -= L[i][k] * L[j][k];
      L[i][j] = s * inv;
    }
  }
  double t[6];
  for (int i = 0; i < 6; i++) {
    double s = b[i];
    for (int k = 0; k < i; k++)
      s -= L[i][k] * t[k];
    t[i] = s / L[i][i];
  }
  for (int i = 5; i >= 0; i--) {
    double s = t[i];
    for (int k = i + 1; k < 6; k++)
      s -= L[k][i] * y[k];
    y[i] = s / L[i][i];
  }
  return 0;
}

ab_ik_result_t ab_ik_dls(const double q0[AB_IK_DOF], const ab_pose_t *target, double lambda,
                         int max_iter, double tol, double q[AB_IK_DOF])
{
  ab_ik_result_t res = { 0, 0, 0, 0 };
  double qc[AB_IK_DOF];
  memcpy(qc, q0, sizeof qc); /* q may alias q0 */
  double l2 = lambda * lambda;
  ab__chain_t c;
  for (int it = 0;; it++) {
    double e[6];
    ab__walk(qc, &c);
    res.err_rot = ab__pose_error(target, &c.end, e);
    res.err_pos = sqrt(e[0] * e[0] + e[1] * e[1] + e[2] * e[2]);
    res.iterations = it;
    if (!isfinite(res.err_pos) || !isfinite(res.err_rot))
      break;
    if (res.err_pos < tol && res.err_rot < tol) {
      res.converged = 1;
      break;
    }
    if (it >= max_iter)
      break;
    /* Clamping the error a step aims at keeps far targets from asking for the huge joint
     * moves that make DLS oscillate; near the target it changes nothing. */
    ab__clamp3(e, AB__IK_MAX_DP);
    ab__clamp3(e + 3, AB__IK_MAX_DR);
    double J[6][AB_IK_DOF], A[6][6], y[6];
    ab__jacobian(&c, J);
    for (int r = 0; r < 6; r++)
      for (int k = r; k < 6; k++) {
        double s = 0;
        for (int i = 0; i < AB_IK_DOF; i++)
          s += J[r][i] * J[k][i];
        A[r][k] = A[k][r] = s;
      }
    /* Damping fades with the error: fixed damping leaves a residual that shrinks only by
     * lambda^2 / (sigma^2 + lambda^2) a step along a direction of small singular value sigma,
     * which near the elbow or wrist singularities stalls 1 solve in 10 short of 1e-4. Close
     * to the target the error itself keeps steps small, so plain Gauss-Newton is safe there. */
    double en = 0;
    for (int r = 0; r < 6; r++)
      en += e[r] * e[r];
    double f = sqrt(en) / AB__IK_EREF, l2e = f < 1 ? l2 * f * f : l2;
    if (l2e < 1e-12)
      l2e = 1e-12; /* keeps J J^T + l2e I positive definite at an exact singularity */
    for (int r = 0; r < 6; r++)
      A[r][r] += l2e;
    if (ab__chol_solve6(A, e, y))
      break;
    double dq[AB_IK_DOF], m = 0;
    for (int i = 0; i < AB_IK_DOF; i++) {
      double s = 0;
      for (int r = 0; r < 6; r++)
        s += J[r][i] * y[r];
      dq[i] = s;
      m = fabs(s) > m ? fabs(s) : m;
    }
    double scale = m > AB__IK_MAX_DQ ? AB__IK_MAX_DQ / m : 1.0;
    for (int i = 0; i < AB_IK_DOF; i++)
      qc[i] += dq[i] * scale;
  }
  memcpy(q, qc, sizeof qc);
  return res;
}
