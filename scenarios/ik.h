/* Inverse kinematics for a 6-DOF arm (UR5-like standard DH parameters): forward kinematics,
 * the geometric Jacobian, and damped least squares
 *     dq = J^T (J J^T + lambda^2 I)^-1 e
 * iterated toward a target pose (position + orientation error, 6-vector), solved with a
 * Cholesky factorisation. Real floating-point work, tens of microseconds a solve.
 */
#ifndef AB_IK_H
#define AB_IK_H

#define AB_IK_DOF 6

typedef struct ab_pose {
  double p[3];    /* position, metres */
  double R[3][3]; /* rotation matrix */
} ab_pose_t;

typedef struct ab_ik_result {
  int iterations;
  double err_pos, err_rot; /* final errors: metres, radians */
  int converged;
} ab_ik_result_t;

void ab_fk(const double q[AB_IK_DOF], ab_pose_t *out);
void ab_jacobian(const double q[AB_IK_DOF], double J[6][AB_IK_DOF]);
/* Solve from q0 toward target; writes q (which may be q0). lambda: damping (0.05 is a good
 * default), applied in full while the pose error is large and fading in proportion to it
 * below 0.1 (m or rad), so the last steps converge fast even near singularities. Stops when
 * both errors are below tol (metres and radians alike) or after max_iter steps;
 * `iterations` counts the steps taken. */
ab_ik_result_t ab_ik_dls(const double q0[AB_IK_DOF], const ab_pose_t *target, double lambda,
                         int max_iter, double tol, double q[AB_IK_DOF]);

#endif
