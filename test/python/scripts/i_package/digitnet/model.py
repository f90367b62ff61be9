from torch import nn


class DigitNet(nn.Module):
    def __init__(self, channels=8, n_classes=10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, stride=2), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.AdaptiveAvgPool2d(2), nn.Flatten(),
        )
        self.fc = nn.Linear(channels * 4, n_classes)

    def forward(self, x):
        return self.fc(self.body(x))
