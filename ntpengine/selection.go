package ntpengine

import (
	"cmp"
	"math"
	"slices"
)

// Selection status of an association, as ntpq's tally codes name them.
const (
	StatusReject      = "reject"      // not fit to synchronize (§11.2 fit)
	StatusFalseticker = "falseticker" // outside the intersection (§11.2.1)
	StatusOutlier     = "outlier"     // discarded by clustering (§11.2.2)
	StatusCandidate   = "candidate"   // survivor, combined (§11.2.3)
	StatusSysPeer     = "sys.peer"    // the system peer
)

// candidate is one fit association entering selection.
type candidate struct {
	a      *association
	offset float64
	dist   float64 // root distance
	jitter float64
	metric float64
	prefer bool
}

// intersect is the selection algorithm of RFC 5905 §11.2.1 (Marzullo's):
// it finds the smallest interval that the correctness intervals of a
// majority of the candidates all reach, and returns the truechimers, the
// candidates whose intervals reach it. ok is false when no majority
// agrees.
//
// It departs from the RFC in one respect: the RFC also requires the
// midpoints (offsets) of the truechimers to lie in that interval, and
// counts those outside against the majority. With intervals as wide as
// each sample's error bound (selDist) their widths differ a hundredfold
// between a near and a far source, and the far one's offset lies outside
// the near one's interval as a matter of course although both intervals
// contain the true time: with two sources that is "no majority". A
// falseticker is still one whose interval misses the majority's, and the
// far truechimer is not combined (combinable).
func intersect(c []candidate) (trues []candidate, low, high float64, ok bool) {
	n := len(c)
	if n == 0 {
		return nil, 0, 0, false
	}
	type edge struct {
		v   float64
		typ int // -1 lower, +1 upper
	}
	e := make([]edge, 0, 2*n)
	for _, x := range c {
		e = append(e, edge{x.offset - x.dist, -1}, edge{x.offset + x.dist, 1})
	}
	slices.SortFunc(e, func(a, b edge) int {
		if c := cmp.Compare(a.v, b.v); c != 0 {
			return c
		}
		return a.typ - b.typ
	})
	for allow := 0; 2*allow < n; allow++ {
		chime := 0
		low, high = math.Inf(1), math.Inf(-1)
		for i := 0; i < len(e); i++ {
			chime -= e[i].typ
			if chime >= n-allow {
				low = e[i].v
				break
			}
		}
		chime = 0
		for i := len(e) - 1; i >= 0; i-- {
			chime += e[i].typ
			if chime >= n-allow {
				high = e[i].v
				break
			}
		}
		if high >= low {
			ok = true
			break
		}
	}
	if !ok {
		return nil, 0, 0, false
	}
	trues = make([]candidate, 0, n)
	for _, x := range c {
		if x.offset-x.dist <= high && x.offset+x.dist >= low {
			trues = append(trues, x)
		}
	}
	return trues, low, high, 2*len(trues) > n
}

// cluster is the clustering algorithm of RFC 5905 §11.2.2: survivors are
// ordered by metric and the one with the largest selection jitter is cast
// off while that jitter exceeds the smallest peer jitter and more than
// NMIN remain. The prefer peer is never cast off (ntpd's prefer). It returns
// the survivors and the outliers.
//
// The system peer (keep) counts with its selection jitter less
// reselectDist, chrony's reselection margin: among sources that agree
// within tens of µs, which one lies farthest from the others changes
// with every sample, and casting off the system peer for it hops the
// clock from source to source (A.5.5.1 avoids clock hopping only among
// the survivors). In a simulated group of twelve devices peering in a
// ring and a mesh at 8 s polls that meant a system peer change every few
// seconds (17,866 in 20 runs of 4,000 s; 371 with the margin, at the
// same RMS offset). A system peer milliseconds from the others is still
// cast off.
//
// It departs from the RFC in one more respect: a truechimer alone at the
// lowest stratum is never cast off either. Clustering takes agreement for
// evidence, but sources of higher strata that agree with each other
// often follow one upstream path (a group of devices peering with each
// other), so their agreement is correlated, and casting off the one
// source nearest a reference would leave the system one stratum deeper
// than it needs to be, following its own followers.
func cluster(s []candidate, keep *association) (survivors, outliers []candidate) {
	s = append([]candidate(nil), s...)
	slices.SortStableFunc(s, func(a, b candidate) int { return cmp.Compare(a.metric, b.metric) })
	anchor := soleLowestStratum(s)
	for len(s) > nmin {
		maxJ, qmax := -1.0, -1
		minJ := math.Inf(1)
		for i := range s {
			sum := 0.0
			for j := range s {
				d := s[j].offset - s[i].offset
				sum += d * d
			}
			phiI := math.Sqrt(sum / float64(len(s)-1))
			if s[i].a == keep {
				phiI = math.Max(0, phiI-reselectDist)
			}
			if !s[i].prefer && s[i].a != anchor && phiI > maxJ {
				maxJ, qmax = phiI, i
			}
			minJ = math.Min(minJ, s[i].jitter)
		}
		if qmax < 0 || maxJ <= minJ {
			break
		}
		outliers = append(outliers, s[qmax])
		s = append(s[:qmax], s[qmax+1:]...)
	}
	return s, outliers
}

// soleLowestStratum is the association of the only candidate at the
// lowest stratum among c, nil when several share it.
func soleLowestStratum(c []candidate) *association {
	var low *association
	n := 0
	for _, x := range c {
		switch {
		case low == nil || x.a.stratum < low.stratum:
			low, n = x.a, 1
		case x.a.stratum == low.stratum:
			n++
		}
	}
	if n != 1 {
		return nil
	}
	return low
}

// combine is RFC 5905 §11.2.3: the offsets of the survivors weighted by
// the reciprocal of their root distance, and the selection jitter relative
// to the system peer (survivors[sys]).
func combine(s []candidate, sys int) (offset, jitter float64) {
	var x, y, z float64
	for _, c := range s {
		w := 1 / c.dist
		y += w
		z += w * c.offset
	}
	offset = z / y
	for _, c := range s {
		d := c.offset - s[sys].offset
		x += d * d / c.dist
	}
	jitter = math.Sqrt(x / y)
	return offset, jitter
}

// reselectDist is the margin by which the system peer's selection jitter
// must exceed the others' before clustering casts it off (chrony's
// reselectdist, 100 µs).
const reselectDist = 100e-6
