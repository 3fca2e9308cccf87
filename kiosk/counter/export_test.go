package counter

import "github.com/kortstation/kortstation/kiosk/receiptpdf"

type receiptPoint = receiptpdf.Point
