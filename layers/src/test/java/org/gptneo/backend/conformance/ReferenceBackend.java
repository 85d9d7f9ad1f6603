package org.gptneo.backend.conformance;

import java.lang.foreign.Arena;
import org.gptneo.backend.AdamWStep;
import org.gptneo.backend.AttentionMask;
import org.gptneo.backend.Backend;
import org.gptneo.backend.DropoutHash;
import org.gptneo.backend.GeluNew;
import org.gptneo.backend.KernelChecks;
import org.gptneo.backend.MatmulShape;
import org.gptneo.tensor.DType;
import org.gptneo.tensor.Tensor;

/**
 * The readable definition of every kernel: plain single-threaded loops, one element at a time.
 * It is the oracle that {@code CpuBackend} is tested against, and it is too slow for real models.
 */
public final class ReferenceBackend implements Backend {
    @Override
    public String name() {
        return "reference";
    }

    @Override
    public void matmul(Tensor a, boolean transposeA, Tensor b, boolean transposeB, Tensor c, float alpha, float beta) {
        MatmulShape s = MatmulShape.of(a, transposeA, b, transposeB, c);
        for (int p = 0; p < s.batch(); p++) {
            // logical (row-major) offsets: element access maps them onto a strided view's memory
            long offA = s.strideA() == 0 ? 0 : (long) p * s.m() * s.k();
            long offB = s.strideB() == 0 ? 0 : (long) p * s.k() * s.n();
            long offC = p * s.strideC();
            for (int i = 0; i < s.m(); i++) {
                for (int j = 0; j < s.n(); j++) {
                    float acc = 0f;
                    for (int kk = 0; kk < s.k(); kk++) {
                        acc += a.getFloat(offA + MatmulShape.at(transposeA, s.m(), s.k(), i, kk))
                                * b.getFloat(offB + MatmulShape.at(transposeB, s.k(), s.n(), kk, j));
                    }
                    long ci = offC + (long) i * s.n() + j;
                    c.setFloat(ci, alpha * acc + (beta == 0f ? 0f : beta * c.getFloat(ci)));
                }
            }
        }
    }

    @Override
    public void fill(Tensor t, float value) {
        for (long i = 0; i < t.size(); i++) t.setFloat(i, value);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        KernelChecks.requireSameSize(src, dst);
        if (src.dtype() == DType.I32 && dst.dtype() == DType.I32) {
            for (long i = 0; i < src.size(); i++) dst.setInt(i, src.getInt(i));
            return;
        }
        for (long i = 0; i < src.size(); i++) dst.setFloat(i, src.getFloat(i));
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        KernelChecks.requireSameSize(a, b);
        KernelChecks.requireSameSize(a, out);
        for (long i = 0; i < a.size(); i++) out.setFloat(i, a.getFloat(i) + b.getFloat(i));
    }

    @Override
    public void mul(Tensor a, Tensor b, Tensor out) {
        KernelChecks.requireSameSize(a, b);
        KernelChecks.requireSameSize(a, out);
        for (long i = 0; i < a.size(); i++) out.setFloat(i, a.getFloat(i) * b.getFloat(i));
    }

    @Override
    public void axpy(float alpha, Tensor x, Tensor y) {
        KernelChecks.requireSameSize(x, y);
        for (long i = 0; i < x.size(); i++) y.setFloat(i, y.getFloat(i) + alpha * x.getFloat(i));
    }

    @Override
    public void scale(Tensor t, float s) {
        for (long i = 0; i < t.size(); i++) t.setFloat(i, t.getFloat(i) * s);
    }

    @Override
    public double sumOfSquares(Tensor x) {
        double acc = 0;
        for (long i = 0; i < x.size(); i++) acc += (double) x.getFloat(i) * x.getFloat(i);
        return acc;
    }

    @Override
    public double sum(Tensor x) {
        double acc = 0;
        for (long i = 0; i < x.size(); i++) acc += x.getFloat(i);
        return acc;
    }

    @Override
    public void addSumOfSquares(Tensor x, Tensor out) {
        out.setFloat(0, (float) (out.getFloat(0) + sumOfSquares(x)));
    }

    @Override
    public void iota(Tensor out) {
        int t = out.dim(-1);
        for (long i = 0; i < out.size(); i++) {
            out.setInt(i, (int) (i % t));
        }
    }

    @Override
    public void divMod(Tensor x, int divisor, Tensor quotient, Tensor remainder) {
        for (long i = 0; i < x.size(); i++) {
            quotient.setInt(i, Math.floorDiv(x.getInt(i), divisor));
            remainder.setInt(i, Math.floorMod(x.getInt(i), divisor));
        }
    }

    @Override
    public void shiftLeft(Tensor labels, int fill, Tensor targets) {
        int t = labels.dim(-1);
        for (long i = 0; i < labels.size(); i++) {
            targets.setInt(i, (i + 1) % t != 0 ? labels.getInt(i + 1) : fill);
        }
    }

    @Override
    public long firstOutOfRange(Tensor ids, int lo, int hi, int allowed) {
        for (long i = 0; i < ids.size(); i++) {
            int id = ids.getInt(i);
            if ((id < lo || id >= hi) && id != allowed) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public void addBias(Tensor x, Tensor bias) {
        int c = bias.dim(-1);
        for (long i = 0; i < x.size(); i++) x.setFloat(i, x.getFloat(i) + bias.getFloat(i % c));
    }

    @Override
    public void addBiasBackward(Tensor dy, Tensor dBias) {
        int c = dBias.dim(-1);
        for (long i = 0; i < dy.size(); i++) dBias.setFloat(i % c, dBias.getFloat(i % c) + dy.getFloat(i));
    }

    @Override
    public void swapMiddle(Tensor x, Tensor out, boolean accumulate) {
        int a = x.dim(0), b = x.dim(1), c = x.dim(2), d = x.dim(3);
        KernelChecks.requireSameSize(x, out);
        for (int i = 0; i < a; i++)
            for (int j = 0; j < b; j++)
                for (int k = 0; k < c; k++)
                    for (int l = 0; l < d; l++) {
                        long src = (((long) i * b + j) * c + k) * d + l;
                        long dst = (((long) i * c + k) * b + j) * d + l;
                        out.setFloat(dst, x.getFloat(src) + (accumulate ? out.getFloat(dst) : 0f));
                    }
    }

    @Override
    public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out, Tensor mean, Tensor rstd) {
        int c = x.dim(-1);
        long rows = x.size() / c;
        for (long r = 0; r < rows; r++) {
            long base = r * c;
            float mu = 0f;
            for (int i = 0; i < c; i++) mu += x.getFloat(base + i);
            mu /= c;
            float var = 0f;
            for (int i = 0; i < c; i++) {
                float dev = x.getFloat(base + i) - mu;
                var += dev * dev;
            }
            var /= c;
            float rs = (float) (1.0 / Math.sqrt(var + eps));
            for (int i = 0; i < c; i++) {
                float norm = (x.getFloat(base + i) - mu) * rs;
                out.setFloat(base + i, norm * gamma.getFloat(i) + beta.getFloat(i));
            }
            mean.setFloat(r, mu);
            rstd.setFloat(r, rs);
        }
    }

    @Override
    public void layerNormBackward(Tensor dOut, Tensor x, Tensor gamma, Tensor mean, Tensor rstd,
                                  Tensor dx, Tensor dGamma, Tensor dBeta) {
        int c = x.dim(-1);
        long rows = x.size() / c;
        for (long r = 0; r < rows; r++) {
            long base = r * c;
            float mu = mean.getFloat(r), rs = rstd.getFloat(r);
            // dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = dOut·gamma
            float meanG = 0f, meanGx = 0f;
            for (int i = 0; i < c; i++) {
                float xhat = (x.getFloat(base + i) - mu) * rs;
                float g = dOut.getFloat(base + i) * gamma.getFloat(i);
                meanG += g;
                meanGx += g * xhat;
            }
            meanG /= c;
            meanGx /= c;
            for (int i = 0; i < c; i++) {
                float xhat = (x.getFloat(base + i) - mu) * rs;
                float dy = dOut.getFloat(base + i);
                float g = dy * gamma.getFloat(i);
                dx.setFloat(base + i, dx.getFloat(base + i) + rs * (g - meanG - xhat * meanGx));
                dGamma.setFloat(i, dGamma.getFloat(i) + dy * xhat);
                dBeta.setFloat(i, dBeta.getFloat(i) + dy);
            }
        }
    }

    @Override
    public void rotary(Tensor x, Tensor positions, float base, boolean inverse, Tensor out) {
        int heads = x.dim(1), time = x.dim(2), hs = x.dim(3), half = hs / 2;
        for (long row = 0; row < x.size() / hs; row++) {      // [B·H·T] rows of hs
            long b = row / ((long) heads * time), t = row % time;
            int position = positions.getInt(b * time + t);
            for (int k = 0; k < half; k++) {
                double angle = position * Math.pow(base, -2.0 * k / hs);
                float cos = (float) Math.cos(angle), sin = (float) (inverse ? -Math.sin(angle) : Math.sin(angle));
                float first = x.getFloat(row * hs + k), second = x.getFloat(row * hs + half + k);
                out.setFloat(row * hs + k, first * cos - second * sin);
                out.setFloat(row * hs + half + k, second * cos + first * sin);
            }
        }
    }

    @Override
    public void geluNew(Tensor x, Tensor out) {
        KernelChecks.requireSameSize(x, out);
        for (long i = 0; i < x.size(); i++) {
            float v = x.getFloat(i);
            float u = (float) (GeluNew.SQRT_2_OVER_PI * (v + GeluNew.COEFF * v * v * v));
            out.setFloat(i, 0.5f * v * (1f + (float) Math.tanh(u)));
        }
    }

    @Override
    public void geluNewBackward(Tensor x, Tensor dOut, Tensor dx) {
        for (long i = 0; i < x.size(); i++) {
            float v = x.getFloat(i);
            float u = (float) (GeluNew.SQRT_2_OVER_PI * (v + GeluNew.COEFF * v * v * v));
            float t = (float) Math.tanh(u);
            float du = (float) (GeluNew.SQRT_2_OVER_PI * (1f + 3f * GeluNew.COEFF * v * v));
            float grad = 0.5f * (1f + t) + 0.5f * v * (1f - t * t) * du;
            dx.setFloat(i, dx.getFloat(i) + grad * dOut.getFloat(i));
        }
    }

    @Override
    public void exp(Tensor x, Tensor out) {
        KernelChecks.requireSameSize(x, out);
        for (long i = 0; i < x.size(); i++) out.setFloat(i, (float) Math.exp(x.getFloat(i)));
    }

    @Override
    public void linearAttentionCausal(Tensor q, Tensor k, Tensor v, float eps, Tensor state, Tensor normaliser, Tensor out) {
        int t = q.dim(2), d = q.dim(3), e = v.dim(3);
        long pairs = (long) q.dim(0) * q.dim(1);
        for (long p = 0; p < pairs; p++) {                       // (batch, head)
            float[][] s = new float[d][e];                       // Σ k[m]ᵀ·v[m]
            float[] z = new float[d];                            // Σ k[m]
            for (int i = 0; i < d && state != null; i++) {
                z[i] = normaliser.getFloat(p * d + i);
                for (int j = 0; j < e; j++) s[i][j] = state.getFloat((p * d + i) * e + j);
            }
            for (int n = 0; n < t; n++) {
                long qk = (p * t + n) * d, vo = (p * t + n) * e;
                for (int i = 0; i < d; i++) {
                    z[i] += k.getFloat(qk + i);
                    for (int j = 0; j < e; j++) s[i][j] += k.getFloat(qk + i) * v.getFloat(vo + j);
                }
                float den = 0f;
                for (int i = 0; i < d; i++) den += q.getFloat(qk + i) * (z[i] + eps);
                for (int j = 0; j < e; j++) {
                    float num = 0f;
                    for (int i = 0; i < d; i++) num += q.getFloat(qk + i) * s[i][j];
                    out.setFloat(vo + j, num / den);
                }
            }
            for (int i = 0; i < d && state != null; i++) {
                normaliser.setFloat(p * d + i, z[i]);
                for (int j = 0; j < e; j++) state.setFloat((p * d + i) * e + j, s[i][j]);
            }
        }
    }

    /**
     * The chain rule written out: with D[n] = q[n]·(z[n] + eps), g[n] = dOut[n] / D[n] and
     * dD[n] = −(dOut[n]·out[n]) / D[n], dq[n] = S[n]·g[n] + dD[n]·(z[n] + eps), and every n ≥ m adds
     * q[n]·(g[n]·v[m]) + dD[n]·q[n] into dk[m] and (k[m]·q[n])·g[n] into dv[m] (quadratic in T).
     */
    @Override
    public void linearAttentionCausalBackward(Tensor q, Tensor k, Tensor v, float eps, Tensor out, Tensor dOut,
                                              Tensor dq, Tensor dk, Tensor dv) {
        int t = q.dim(2), d = q.dim(3), e = v.dim(3);
        long pairs = (long) q.dim(0) * q.dim(1);
        for (long p = 0; p < pairs; p++) {
            float[][] s = new float[d][e];
            float[] z = new float[d], den = new float[t], dDen = new float[t];
            for (int n = 0; n < t; n++) {
                long qk = (p * t + n) * d, vo = (p * t + n) * e;
                for (int i = 0; i < d; i++) {
                    z[i] += k.getFloat(qk + i);
                    for (int j = 0; j < e; j++) s[i][j] += k.getFloat(qk + i) * v.getFloat(vo + j);
                }
                for (int i = 0; i < d; i++) den[n] += q.getFloat(qk + i) * (z[i] + eps);
                float gDotOut = 0f;
                for (int j = 0; j < e; j++) gDotOut += dOut.getFloat(vo + j) * out.getFloat(vo + j);
                dDen[n] = -gDotOut / den[n];
                for (int i = 0; i < d; i++) {
                    float grad = dDen[n] * (z[i] + eps);
                    for (int j = 0; j < e; j++) grad += s[i][j] * dOut.getFloat(vo + j) / den[n];
                    dq.setFloat(qk + i, dq.getFloat(qk + i) + grad);
                }
            }
            for (int m = 0; m < t; m++) {
                long km = (p * t + m) * d, vm = (p * t + m) * e;
                for (int n = m; n < t; n++) {
                    long qn = (p * t + n) * d, gn = (p * t + n) * e;
                    float gDotV = 0f, kDotQ = 0f;
                    for (int j = 0; j < e; j++) gDotV += dOut.getFloat(gn + j) / den[n] * v.getFloat(vm + j);
                    for (int i = 0; i < d; i++) kDotQ += k.getFloat(km + i) * q.getFloat(qn + i);
                    for (int i = 0; i < d; i++) {
                        dk.setFloat(km + i, dk.getFloat(km + i) + q.getFloat(qn + i) * gDotV + dDen[n] * q.getFloat(qn + i));
                    }
                    for (int j = 0; j < e; j++) {
                        dv.setFloat(vm + j, dv.getFloat(vm + j) + kDotQ * dOut.getFloat(gn + j) / den[n]);
                    }
                }
            }
        }
    }

    @Override
    public void maskedSoftmax(Tensor scores, AttentionMask mask, Tensor probs) {
        int t = scores.dim(-2), s = scores.dim(-1);
        long matrices = scores.size() / Math.max(1L, (long) t * s);
        float[] row = new float[s];
        for (long m = 0; m < matrices; m++) {
            int b = mask.batchRow(m, matrices);
            for (int i = 0; i < t; i++) {
                long base = (m * t + i) * s;
                int query = s - t + i;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < s; j++) {
                    row[j] = mask.visible(b, query, j) ? scores.getFloat(base + j) : -Float.MAX_VALUE;
                    max = Math.max(max, row[j]);
                }
                float total = 0f;
                for (int j = 0; j < s; j++) {
                    row[j] = (float) Math.exp(row[j] - max);
                    total += row[j];
                }
                for (int j = 0; j < s; j++) probs.setFloat(base + j, row[j] / total);
            }
        }
    }

    @Override
    public void softmaxBackward(Tensor probs, Tensor dProbs, Tensor dScores) {
        int s = probs.dim(-1);
        long rows = probs.size() / s;
        for (long r = 0; r < rows; r++) {
            long base = r * s;
            float dot = 0f;
            for (int j = 0; j < s; j++) dot += probs.getFloat(base + j) * dProbs.getFloat(base + j);
            for (int j = 0; j < s; j++) {
                float p = probs.getFloat(base + j);
                dScores.setFloat(base + j, dScores.getFloat(base + j) + p * (dProbs.getFloat(base + j) - dot));
            }
        }
    }

    @Override
    public void embedding(Tensor table, Tensor ids, Tensor out) {
        int c = table.dim(-1);
        for (long n = 0; n < ids.size(); n++) {
            int id = KernelChecks.checkedId(ids, n, table.dim(0));
            for (int i = 0; i < c; i++) out.setFloat(n * c + i, table.getFloat((long) id * c + i));
        }
    }

    @Override
    public void embeddingBackward(Tensor ids, Tensor dOut, Tensor dTable) {
        int c = dTable.dim(-1);
        for (long n = 0; n < ids.size(); n++) {
            int id = KernelChecks.checkedId(ids, n, dTable.dim(0));
            for (int i = 0; i < c; i++) {
                long ti = (long) id * c + i;
                dTable.setFloat(ti, dTable.getFloat(ti) + dOut.getFloat(n * c + i));
            }
        }
    }

    @Override
    public void crossEntropy(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses) {
        int v = logits.dim(-1);
        for (long n = 0; n < targets.size(); n++) {
            int target = targets.getInt(n);
            if (target == ignoreIndex) {
                losses.setFloat(n, 0f);
                continue;
            }
            KernelChecks.checkedId(targets, n, v);
            long base = n * v;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < v; j++) max = Math.max(max, logits.getFloat(base + j));
            double total = 0;
            for (int j = 0; j < v; j++) total += Math.exp(logits.getFloat(base + j) - max);
            losses.setFloat(n, (float) (max + Math.log(total) - logits.getFloat(base + target)));
        }
    }

    @Override
    public void crossEntropyBackward(Tensor logits, Tensor targets, int ignoreIndex, float scale, Tensor dLogits) {
        int v = logits.dim(-1);
        for (long n = 0; n < targets.size(); n++) {
            int target = targets.getInt(n);
            if (target == ignoreIndex) continue;
            KernelChecks.checkedId(targets, n, v);
            long base = n * v;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < v; j++) max = Math.max(max, logits.getFloat(base + j));
            double total = 0;
            for (int j = 0; j < v; j++) total += Math.exp(logits.getFloat(base + j) - max);
            for (int j = 0; j < v; j++) {
                float p = (float) (Math.exp(logits.getFloat(base + j) - max) / total);
                float g = p - (j == target ? 1f : 0f);
                dLogits.setFloat(base + j, dLogits.getFloat(base + j) + scale * g);
            }
        }
    }

    @Override
    public void crossEntropyMean(Tensor logits, Tensor targets, int ignoreIndex, Tensor out) {
        try (Arena scratch = Arena.ofConfined()) {
            Tensor losses = Tensor.allocate(scratch, DType.F32, logits.dim(0));
            crossEntropy(logits, targets, ignoreIndex, losses);
            out.setFloat(0, (float) (sum(losses) / counted(targets, ignoreIndex)));
        }
    }

    @Override
    public void crossEntropyMeanBackward(Tensor logits, Tensor targets, int ignoreIndex, Tensor dOut, Tensor dLogits) {
        crossEntropyBackward(logits, targets, ignoreIndex, dOut.getFloat(0) / counted(targets, ignoreIndex), dLogits);
    }

    private static int counted(Tensor targets, int ignoreIndex) {
        int count = 0;
        for (long i = 0; i < targets.size(); i++) {
            if (targets.getInt(i) != ignoreIndex) {
                count++;
            }
        }
        return count;
    }

    @Override
    public void dropoutMask(Tensor mask, float p, long seed) {
        float keep = 1f / (1f - p);
        for (long i = 0; i < mask.size(); i++) {
            mask.setFloat(i, DropoutHash.uniform(seed, i) < p ? 0f : keep);
        }
    }

    @Override
    public void relu(Tensor x, Tensor out) {
        KernelChecks.requireSameSize(x, out);
        for (long i = 0; i < x.size(); i++) out.setFloat(i, Math.max(x.getFloat(i), 0f));
    }

    @Override
    public void reluBackward(Tensor x, Tensor dOut, Tensor dx) {
        KernelChecks.requireSameSize(x, dOut);
        KernelChecks.requireSameSize(x, dx);
        for (long i = 0; i < x.size(); i++) {
            if (x.getFloat(i) > 0f) dx.setFloat(i, dx.getFloat(i) + dOut.getFloat(i));
        }
    }

    @Override
    public void scatterAddRows(Tensor src, Tensor weights, Tensor rows, Tensor out) {
        KernelChecks.requireScatterShapes(src, weights, rows, out);
        int c = out.dim(1);
        for (long m = 0; m < rows.size(); m++) {
            int row = KernelChecks.checkedRow(rows, m, out.dim(0));
            float w = weights.getFloat(m);
            for (int j = 0; j < c; j++) {
                long at = (long) row * c + j;
                out.setFloat(at, out.getFloat(at) + w * src.getFloat(m * c + j));
            }
        }
    }

    @Override
    public void scatterAddRowsBackward(Tensor dOut, Tensor src, Tensor weights, Tensor rows, Tensor dSrc, Tensor dWeights) {
        KernelChecks.requireScatterShapes(src, weights, rows, dOut);
        KernelChecks.requireSameSize(src, dSrc);
        KernelChecks.requireSameSize(weights, dWeights);
        int c = dOut.dim(1);
        for (long m = 0; m < rows.size(); m++) {
            int row = KernelChecks.checkedRow(rows, m, dOut.dim(0));
            float w = weights.getFloat(m), dot = 0f;
            for (int j = 0; j < c; j++) {
                float g = dOut.getFloat((long) row * c + j);
                dSrc.setFloat(m * c + j, dSrc.getFloat(m * c + j) + w * g);
                dot += g * src.getFloat(m * c + j);
            }
            dWeights.setFloat(m, dWeights.getFloat(m) + dot);
        }
    }

    @Override
    public void normalizeRows(Tensor x, float eps, Tensor out) {
        KernelChecks.requireSameSize(x, out);
        int k = x.dim(-1);
        for (long n = 0; n < x.size() / k; n++) {
            float denominator = rowSum(x, n * k, k) + eps;
            for (int j = 0; j < k; j++) out.setFloat(n * k + j, x.getFloat(n * k + j) / denominator);
        }
    }

    @Override
    public void normalizeRowsBackward(Tensor x, Tensor out, Tensor dOut, float eps, Tensor dx) {
        KernelChecks.requireSameSize(x, out);
        KernelChecks.requireSameSize(x, dOut);
        KernelChecks.requireSameSize(x, dx);
        int k = x.dim(-1);
        for (long n = 0; n < x.size() / k; n++) {
            long at = n * k;
            float denominator = rowSum(x, at, k) + eps, dot = 0f;
            for (int j = 0; j < k; j++) dot += dOut.getFloat(at + j) * out.getFloat(at + j);
            for (int j = 0; j < k; j++) dx.setFloat(at + j, dx.getFloat(at + j) + (dOut.getFloat(at + j) - dot) / denominator);
        }
    }

    private static float rowSum(Tensor x, long at, int k) {
        float sum = 0f;
        for (int j = 0; j < k; j++) sum += x.getFloat(at + j);
        return sum;
    }

    @Override
    public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep s) {
        double bias1 = 1 - Math.pow(s.beta1(), s.step());
        double bias2 = 1 - Math.pow(s.beta2(), s.step());
        float stepSize = (float) (s.lr() / bias1);
        float bias2Sqrt = (float) Math.sqrt(bias2);
        for (long i = 0; i < param.size(); i++) {
            float g = grad.getFloat(i);
            float p = param.getFloat(i) * (1f - s.lr() * s.weightDecay());
            float mi = s.beta1() * m.getFloat(i) + (1f - s.beta1()) * g;
            float vi = s.beta2() * v.getFloat(i) + (1f - s.beta2()) * g * g;
            float denom = (float) Math.sqrt(vi) / bias2Sqrt + s.eps();
            param.setFloat(i, p - stepSize * mi / denom);
            m.setFloat(i, mi);
            v.setFloat(i, vi);
        }
    }
}
